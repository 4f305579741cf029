// The server's notices (the demo loading, say) as a thin banner under the top bar, with progress
// when the notice counts something; polled often while there are any, seldom otherwise.
import { listNotices } from "../api/system.js";
import { number } from "../format.js";
import { usePoll } from "../poll.js";

const SOON = 2000; // while there are notices
const SELDOM = 15000; // while there are none

function Notice({ notice }) {
  const { text, done, total } = notice;
  const counted = Number.isFinite(done) && Number.isFinite(total) && total > 0;
  const share = counted ? Math.min(1, Math.max(0, done / total)) : 0;
  return (
    <div class="notice">
      <span class="spinner" aria-hidden="true" />
      <span class="notice-text">{text}</span>
      {counted && (
        <>
          <div
            class="progress notice-progress"
            role="progressbar"
            aria-label={text}
            aria-valuemin={0}
            aria-valuemax={total}
            aria-valuenow={done}
            aria-valuetext={`${number(done)} of ${number(total)}`}
          >
            <div style={{ width: `${(share * 100).toFixed(1)}%` }} />
          </div>
          <span class="notice-share">{Math.floor(share * 100)}%</span>
        </>
      )}
    </div>
  );
}

export function Notices() {
  // A server without notices (or failing to say) has none: no hurry to ask again.
  const [items] = usePoll(() => listNotices().catch(() => []), SELDOM, [], { fast: SOON, active: (list) => list.length > 0 });
  const shown = items || [];
  // The live region stays on the page (empty, it takes no room) so that a notice that comes later
  // is read out.
  return (
    <div class="notices" role="status" aria-label="Server notices">
      {shown.map((n) => (
        <Notice key={n.id} notice={n} />
      ))}
    </div>
  );
}
