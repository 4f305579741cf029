// One run: its record (status, progress, timing, parameters, error) and its executed notebook.
import { useEffect, useState } from "preact/hooks";
import { useNotebooks } from "../../api/notebooks.js";
import { cancelRun, getRun, getRunNotebook, runNotebookUrl } from "../../api/runs.js";
import { Badge, Button } from "../../components/controls.jsx";
import { KeyValues } from "../../components/key-values.jsx";
import { Confirm } from "../../components/modal.jsx";
import { Empty, ErrorBox, Loading, Page } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { ago, datetime, duration } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link } from "../../router.jsx";
import { ExecutedNotebook } from "./executed.jsx";
import { RunDialog } from "./run-dialog.jsx";
import { ACTIVE } from "./status.js";

function Progress({ run }) {
  const pct = run.cells_total ? Math.round((100 * run.cells_done) / run.cells_total) : 0;
  return (
    <div
      class="progress"
      role="progressbar"
      aria-valuemin="0"
      aria-valuemax={run.cells_total}
      aria-valuenow={run.cells_done}
      aria-label="Progress"
    >
      <div style={{ width: pct + "%" }} />
    </div>
  );
}

function Fact({ label, children }) {
  return (
    <div class="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function RunView({ id }) {
  const [, names] = useNotebooks();
  const [run, error, reload] = usePoll(() => getRun(id), 0, [id], { fast: 1000, active: (r) => ACTIVE.has(r.status) });
  const [cancelling, setCancelling] = useState(false);
  const [again, setAgain] = useState(false);
  const [, tick] = useState(0);
  const active = run && ACTIVE.has(run.status);
  // The executed notebook changes as cells run (the running cell's output is saved every
  // second): fetch it on each step of progress, and every second while the run is active.
  const started = run && run.status !== "queued";
  const [nb, nbError] = usePoll(() => (started ? getRunNotebook(id) : null), 0, [id, run?.status, run?.cells_done], {
    fast: 1000,
    active: () => active,
    keep: true,
  });
  // Keep the running duration moving.
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [active]);
  if (!run) {
    return (
      <Page title="Run">
        <ErrorBox error={error} />
        {!error && <Loading />}
      </Page>
    );
  }
  const nbName = names[run.notebook_id] || run.notebook_id;
  const e = run.error;
  return (
    <Page
      title={nbName}
      subtitle={
        <span class="run-sub">
          <Badge status={run.status} />
          <span>
            <Link href="/runs">Runs</Link> › run <span class="mono">{run.id}</span> · revision {run.notebook_revision}
          </span>
        </span>
      }
      actions={
        <>
          <Link class="btn btn-ghost" href={`/notebooks/${run.notebook_id}`}>
            Open notebook
          </Link>
          <a class="btn btn-secondary" href={runNotebookUrl(run.id)} download={`run-${run.id}.ipynb`}>
            ⤓ Download .ipynb
          </a>
          <Button onClick={() => setAgain(true)}>Run again</Button>
          {active && (
            <Button kind="danger" onClick={() => setCancelling(true)}>
              Cancel run
            </Button>
          )}
        </>
      }
    >
      <ErrorBox error={error} />
      <div class="panel run-summary">
        {active && (
          <div class="run-progress">
            <div class="row">
              <strong>
                {run.status === "queued"
                  ? "Waiting for a kernel…"
                  : `Cell ${Math.min(run.cells_done + 1, run.cells_total)} of ${run.cells_total}`}
              </strong>
              <span class="spacer" />
              <span class="muted">
                {run.cells_done} of {run.cells_total} done
              </span>
            </div>
            <Progress run={run} />
          </div>
        )}
        <dl class="facts">
          <Fact label="Queued">
            <span title={datetime(run.created_at)}>{ago(run.created_at)}</span>
          </Fact>
          <Fact label="Started">{run.started_at ? <span title={ago(run.started_at)}>{datetime(run.started_at)}</span> : "–"}</Fact>
          <Fact label="Finished">{run.finished_at ? datetime(run.finished_at) : "–"}</Fact>
          <Fact label="Duration">{run.started_at ? duration(run.started_at, run.finished_at) : "–"}</Fact>
          <Fact label="Cells">
            {run.cells_done} / {run.cells_total}
          </Fact>
          <Fact label="Attempt">{run.attempt > 1 ? `${run.attempt} (the first lost its kernel or node)` : run.attempt}</Fact>
          <Fact label="Timeout">{run.timeout_s ? `${run.timeout_s} s` : "none"}</Fact>
        </dl>
        <div class="run-params">
          <span class="fact-label">Parameters</span>
          <KeyValues data={run.parameters} empty={<span class="muted">none: the notebook's defaults</span>} max={120} />
        </div>
      </div>
      {e && (
        <div class="run-error" role="alert">
          <div>
            <strong>{e.ename || "Error"}</strong>
            {e.evalue ? `: ${e.evalue}` : ""}
          </div>
          {e.cell !== null && e.cell !== undefined && (
            <button
              class="linkish"
              onClick={() => document.getElementById(`cell-${e.cell}`)?.scrollIntoView({ behavior: "smooth", block: "center" })}
            >
              in cell {e.cell + 1} — show it
            </button>
          )}
        </div>
      )}
      <h2 class="section-title">Executed notebook {active && <span class="muted small">(updates as cells finish)</span>}</h2>
      <ErrorBox error={nbError} />
      {run.status === "queued" ? (
        <div class="panel">
          <Empty>The run has not started yet.</Empty>
        </div>
      ) : !nb ? (
        !nbError && <Loading />
      ) : (
        <ExecutedNotebook nb={nb} run={run} />
      )}
      {cancelling && (
        <Confirm
          title="Cancel this run?"
          message="The running cell is interrupted and the run ends as cancelled. Outputs so far stay."
          confirmLabel="Cancel run"
          onConfirm={async () => {
            await cancelRun(run.id);
            toast("Run cancelled");
            reload();
          }}
          onClose={() => setCancelling(false)}
        />
      )}
      {again && <RunDialog notebookId={run.notebook_id} parameters={run.parameters} onClose={() => setAgain(false)} />}
    </Page>
  );
}
