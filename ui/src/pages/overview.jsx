// The four tiles of the concept (Data, Analytics, Processing, Runs), live, and what happened lately.
import { getSummary } from "../api/system.js";
import { ago, bytes, number } from "../format.js";
import { Link } from "../router.jsx";
import { Badge } from "../components/controls.jsx";
import { ErrorBox, Loading, Page } from "../components/page.jsx";
import { usePoll } from "../poll.js";

const LINKS = {
  upload: (ref) => `/data/objects/${encodeURIComponent(ref)}`,
  run: (ref) => `/runs/${ref}`,
  processor: (ref) => `/processing/${ref}`,
  action: (ref) => (ref ? `/processing/${ref}` : "/processing"),
};

/** "1 stream", "3 streams". */
function count(n, one, many = one + "s") {
  return `${number(n)} ${n === 1 ? one : many}`;
}

const ICONS = { upload: "⇪", run: "▶", processor: "⟳", action: "⚑" };

function Tile({ href, title, big, unit, lines, tone }) {
  return (
    <Link href={href} class={"tile" + (tone ? " tile-" + tone : "")}>
      <h2>{title}</h2>
      <div class="tile-big">
        {big}
        <span class="tile-unit">{unit}</span>
      </div>
      <ul class="tile-lines">
        {lines.filter(Boolean).map((l) => (
          <li>{l}</li>
        ))}
      </ul>
    </Link>
  );
}

export function OverviewPage() {
  const [s, error] = usePoll(getSummary, 3000);
  return (
    <Page title="Overview" subtitle="Upload data, explore it in notebooks, and run models on live streams.">
      <ErrorBox error={error} />
      {!s ? (
        !error && <Loading />
      ) : (
        <>
          <div class="tiles">
            <Tile
              href="/data"
              title="Data"
              big={number(s.data.objects)}
              unit={s.data.objects === 1 ? "object" : "objects"}
              lines={[`${bytes(s.data.bytes)} stored`, count(s.data.streams, "stream")]}
            />
            <Tile
              href="/notebooks"
              title="Analytics"
              big={number(s.analytics.notebooks + s.analytics.processing_notebooks)}
              unit={s.analytics.notebooks + s.analytics.processing_notebooks === 1 ? "notebook" : "notebooks"}
              lines={[
                `${number(s.analytics.notebooks)} analytics · ${number(s.analytics.processing_notebooks)} processing`,
                `${count(s.analytics.sessions, "kernel")} open`,
              ]}
            />
            <Tile
              href="/processing"
              title="Processing"
              big={number(s.processing.running)}
              unit="running"
              tone={s.processing.failed ? "bad" : s.processing.running ? "live" : null}
              lines={[
                `${count(s.processing.processed, "message")} processed`,
                `${count(s.processing.actions_last_hour, "action")} in the last hour`,
                s.processing.failed ? `${s.processing.failed} failed` : null,
                s.processing.dead_letters ? count(s.processing.dead_letters, "dead letter") : null,
              ]}
            />
            <Tile
              href="/runs"
              title="Runs"
              big={number(Object.values(s.runs.last_day).reduce((a, b) => a + b, 0))}
              unit="in the last 24 h"
              tone={s.runs.last_day.failed ? "bad" : null}
              lines={[
                `${number(s.runs.active)} queued or running`,
                s.runs.last_day.failed ? `${s.runs.last_day.failed} failed` : `${number(s.runs.last_day.succeeded || 0)} succeeded`,
                count(s.runs.schedules, "schedule"),
              ]}
            />
          </div>
          <h2 class="section-title">Recent activity</h2>
          {s.recent.length === 0 ? (
            <p class="muted">
              Nothing yet. Start by uploading a CSV on the <Link href="/data">Data</Link> page.
            </p>
          ) : (
            <ul class="activity">
              {s.recent.map((a) => (
                <li>
                  <span class={"activity-icon activity-" + a.kind} aria-hidden="true">
                    {ICONS[a.kind]}
                  </span>
                  <Link href={LINKS[a.kind](a.ref)} class="activity-text">
                    {a.text}
                  </Link>
                  {a.status && <Badge status={a.status} />}
                  <span class="muted activity-time" title={a.at}>
                    {ago(a.at)}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Page>
  );
}
