// A run's outputs in the editor: the bar above the cells (which run, pick another, hide) and
// the read-only outputs under a cell, marked as the run's.
import { Outputs } from "../../components/outputs.jsx";
import { ago, shortId } from "../../format.js";
import { Link } from "../../router.jsx";

const STATUS = { succeeded: "succeeded", failed: "failed", cancelled: "cancelled", timed_out: "timed out", running: "running" };

/** "from run abc123 · succeeded · 2 min ago" */
export function runLabel(run) {
  return `run ${shortId(run.id)} · ${STATUS[run.status] || run.status} · ${ago(run.finished_at || run.started_at || run.created_at)}`;
}

export function PastBar({ past }) {
  if (!past.runs.length) return null;
  const shown = !past.hidden && past.run;
  if (shown && !past.loading && !past.error && !past.showing()) return null; // every cell shows its own now
  return (
    <div class="nb-past" role="region" aria-label="Outputs of a run">
      <span class="nb-past-icon" aria-hidden="true">
        ▶
      </span>
      {shown ? (
        <span>
          Showing the outputs of{" "}
          <Link href={`/runs/${past.run.id}`} class="mono">
            run {shortId(past.run.id)}
          </Link>{" "}
          (read-only, not saved): running a cell replaces its outputs with yours.
        </span>
      ) : (
        <span>This notebook has run as a job: its outputs can be shown under the cells.</span>
      )}
      <span class="spacer" />
      {past.loading && <span class="spinner" aria-hidden="true" />}
      <label class="nb-past-pick">
        <span class="muted small">Outputs from</span>
        <select aria-label="Outputs from" value={shown ? past.run.id : ""} onChange={(e) => past.show(e.target.value || null)}>
          <option value="">no run (hide)</option>
          {past.runs.map((r) => (
            <option value={r.id}>{runLabel(r)}</option>
          ))}
        </select>
      </label>
      {past.error && <span class="nb-past-error">Could not load the run: {past.error.message}</span>}
    </div>
  );
}

export function PastOutputs({ past, run }) {
  return (
    <div class="cell-past" role="group" aria-label={`Outputs from ${runLabel(run)}`}>
      <div class="cell-past-tag">
        from {runLabel(run)}
        {past.changed && <span class="cell-past-changed"> · the code has changed since</span>}
      </div>
      <Outputs outputs={past.outputs} />
    </div>
  );
}
