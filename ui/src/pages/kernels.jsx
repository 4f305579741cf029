// The user's open kernels (notebook sessions), live: which notebook, busy or idle, what they use;
// shut one down, or all of them.
import { useState } from "preact/hooks";
import { useNotebooks } from "../api/notebooks.js";
import { listSessions, stopSession } from "../api/sessions.js";
import { Badge, Button } from "../components/controls.jsx";
import { Confirm } from "../components/modal.jsx";
import { Empty, ErrorBox, Loading, Page } from "../components/page.jsx";
import { toast } from "../components/toasts.jsx";
import { ago, bytes, datetime, seconds } from "../format.js";
import { usePoll } from "../poll.js";
import { Link } from "../router.jsx";

const EVERY = 3000;

/** Shut a kernel down; one already gone counts as done. */
async function stop(id) {
  try {
    await stopSession(id);
  } catch (e) {
    if (e.status !== 404) throw e;
  }
}

function cpu(percent) {
  return percent === null || percent === undefined ? "–" : `${Number(percent).toFixed(percent < 10 ? 1 : 0)}%`;
}

/** How many pages show the kernel; none: the server shuts it down after a grace time unless busy. */
function Viewers({ count }) {
  if (count === null || count === undefined) return "–";
  if (count === 0)
    return (
      <span class="muted" title="No page shows it: the server shuts it down after a grace time, unless it is busy">
        none
      </span>
    );
  return count === 1 ? "1 page" : `${count} pages`;
}

function KernelRow({ session, name, onStopped }) {
  const [busy, setBusy] = useState(false);
  const shutDown = async () => {
    setBusy(true);
    try {
      await stop(session.id);
      toast(`Kernel of ${name || "the session"} shut down`);
      onStopped();
    } catch (e) {
      toast(`Shutting down failed: ${e.message}`, "bad");
      setBusy(false);
    }
  };
  return (
    <tr>
      <td>
        {session.notebook_id ? (
          <Link href={`/notebooks/${encodeURIComponent(session.notebook_id)}`} class="kernel-nb">
            {name || session.notebook_id}
          </Link>
        ) : (
          <span class="muted">no notebook</span>
        )}
      </td>
      <td>
        <Badge status={session.execution_state} />
      </td>
      <td title={datetime(session.created_at)}>{ago(session.created_at)}</td>
      <td class="num">{session.execution_state === "busy" ? "running" : seconds(session.idle_s)}</td>
      <td>
        <Viewers count={session.viewers} />
      </td>
      <td class="num">{session.memory_bytes === null || session.memory_bytes === undefined ? "–" : bytes(session.memory_bytes)}</td>
      <td class="num">{cpu(session.cpu_percent)}</td>
      <td>
        <code class="node">{session.node}</code>
      </td>
      <td class="kernel-actions">
        <Button small kind="danger" busy={busy} onClick={shutDown} aria-label={`Shut down the kernel of ${name || session.id}`}>
          Shut down
        </Button>
      </td>
    </tr>
  );
}

export function KernelsPage() {
  const [sessions, error, reload] = usePoll(listSessions, EVERY);
  const [, names] = useNotebooks();
  const [confirming, setConfirming] = useState(false);
  const items = sessions || [];
  const busy = items.filter((s) => s.execution_state === "busy").length;
  const memory = items.some((s) => Number.isFinite(s.memory_bytes)) ? items.reduce((a, s) => a + (s.memory_bytes || 0), 0) : null;
  const subtitle = !items.length
    ? "Each notebook you open starts a kernel; it keeps its variables when you leave the page, until you shut it down."
    : `${items.length} open${busy ? `, ${busy} busy` : ""}${memory !== null ? ` · ${bytes(memory)} in all` : ""} · a kernel keeps its variables until it is shut down`;
  return (
    <Page
      title="Kernels"
      subtitle={subtitle}
      actions={
        items.length > 0 && (
          <Button kind="danger" onClick={() => setConfirming(true)}>
            Shut down all
          </Button>
        )
      }
    >
      <ErrorBox error={error} />
      {sessions === undefined ? (
        !error && <Loading />
      ) : items.length === 0 ? (
        <div class="panel">
          <Empty>
            No open kernels. Opening a notebook from <Link href="/notebooks">Notebooks</Link> starts one.
          </Empty>
        </div>
      ) : (
        <div class="panel table-scroll-x">
          <table class="table kernel-table">
            <thead>
              <tr>
                <th>Notebook</th>
                <th>State</th>
                <th>Started</th>
                <th class="num">Idle for</th>
                <th>Open in</th>
                <th class="num">Memory</th>
                <th class="num">CPU</th>
                <th>Node</th>
                <th>
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <KernelRow key={s.id} session={s} name={names[s.notebook_id]} onStopped={reload} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {confirming && (
        <Confirm
          title="Shut down every kernel?"
          message={`${items.length === 1 ? "The open kernel stops" : `All ${items.length} open kernels stop`}, and their variables are lost. Notebooks keep their code and saved outputs; the next run starts a new kernel.`}
          confirmLabel="Shut down all"
          onConfirm={async () => {
            const results = await Promise.allSettled(items.map((s) => stop(s.id)));
            const failed = results.filter((r) => r.status === "rejected");
            reload();
            if (failed.length) throw failed[0].reason;
            toast(items.length === 1 ? "Kernel shut down" : `${items.length} kernels shut down`);
          }}
          onClose={() => setConfirming(false)}
        />
      )}
    </Page>
  );
}
