// The editor's dialogs and banners: run as a job (with the parameters cell's variables) and the
// run's live status, keyboard shortcuts, and the save conflict.
import { useEffect, useRef, useState } from "preact/hooks";
import { getRun, startRun } from "../../api/runs.js";
import { ago } from "../../format.js";
import { Link } from "../../router.jsx";
import { Badge, Button } from "../../components/controls.jsx";
import { ErrorBox } from "../../components/page.jsx";
import { Modal } from "../../components/modal.jsx";
import { toast } from "../../components/toasts.jsx";
import { ParamRows } from "../../components/params.jsx";
import { parameterDefaults, toParameters } from "../../params.js";
import { usePoll } from "../../poll.js";

const DONE = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

export function RunJobDialog({ model, onClose, onStarted }) {
  const defaults = parameterDefaults(model.cells);
  const [rows, setRows] = useState(() => defaults || []);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const form = useRef();
  useEffect(() => {
    // After the dialog's own focus (children's effects run first): the first value to give.
    form.current?.querySelector("input:not([readonly])")?.focus();
  }, []);
  const submit = async (e) => {
    e.preventDefault();
    let parameters;
    try {
      parameters = toParameters(rows);
    } catch (err) {
      return setError(err.message);
    }
    setBusy(true);
    setError(null);
    try {
      await model.save(true);
      if (model.conflict || model.saveError) throw model.conflict || model.saveError;
      const run = await startRun(model.info.id, { parameters });
      toast(`Run ${run.id.slice(0, 8)} started`);
      onStarted(run);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Run as a job"
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="run-job" busy={busy}>
            Start run
          </Button>
        </>
      }
    >
      <form id="run-job" onSubmit={submit} ref={form}>
        <p class="muted">
          Saves the notebook and runs it from top to bottom in a fresh kernel, as the REST API and schedules do; this editor's kernel is not
          touched.
        </p>
        <div class="field">
          <span class="field-label">Parameters</span>
          <span class="field-hint">
            {defaults
              ? 'From the cell tagged “parameters”: a value given here is set just after it; an empty value keeps the default. Values are JSON when valid (42, true, [1, 2], "text"), otherwise text.'
              : "This notebook has no cell tagged “parameters” (cell toolbar): tag one to list its variables here. Parameters added here are set at the top."}
          </span>
          <ParamRows rows={rows} onChange={setRows} />
        </div>
        <ErrorBox error={error} />
      </form>
    </Modal>
  );
}

/** A run started from the editor, with its status kept live until it ends (then `onDone`). */
export function JobStatus({ run: started, onClose, onDone }) {
  const [polled] = usePoll(() => getRun(started.id), 0, [started.id], { fast: 1000, active: (r) => !DONE.has(r.status) });
  const run = polled || started;
  const done = DONE.has(run.status);
  useEffect(() => {
    if (done) onDone?.(run);
  }, [done]);
  const progress =
    run.status === "running" && run.cells_total ? `cell ${Math.min(run.cells_done + 1, run.cells_total)} of ${run.cells_total}` : "";
  return (
    <span class="nb-job" role="status">
      <Link href={`/runs/${run.id}`} title="Open the run">
        Run {run.id.slice(0, 8)}
      </Link>
      <Badge status={run.status}>{run.status.replace("_", " ")}</Badge>
      {progress && <span class="muted">{progress}</span>}
      <button type="button" class="icon-btn" aria-label="Dismiss the run's status" onClick={onClose}>
        ×
      </button>
    </span>
  );
}

const SHORTCUTS = [
  ["Shift+Enter", "Run the cell and select the next (adds one at the end)"],
  ["Ctrl+Enter", "Run the cell in place"],
  ["Ctrl+S", "Save now"],
  ["Esc / Enter", "Leave / enter the cell's editor"],
  ["↑ ↓ (or J K)", "Select the cell above / below"],
  ["A / B", "Insert a cell above / below"],
  ["M / Y / R", "Make the cell Markdown / code / raw"],
  ["D, D / Z", "Delete the cell / undo the delete"],
  ["I, I / 0, 0", "Interrupt / restart the kernel"],
  ["Tab", "Complete a name (indent elsewhere)"],
];

export function ShortcutsDialog({ onClose }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <table class="table nb-keys">
        <tbody>
          {SHORTCUTS.map(([k, v]) => (
            <tr>
              <td>
                <kbd>{k}</kbd>
              </td>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">Single keys work when a cell is selected and its editor is not focused (press Esc).</p>
    </Modal>
  );
}

export function ConflictBanner({ model }) {
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const go = async (what) => {
    setBusy(what);
    setError(null);
    try {
      await (what === "reload" ? model.reload() : model.overwrite());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div class="nb-conflict" role="alert">
      <div>
        <strong>This notebook was changed elsewhere</strong>
        {model.conflict.revision ? ` (revision ${model.conflict.revision}, saved ${ago(model.conflict.created_at)}).` : "."} Your changes
        here are not saved. Reload the latest revision (your changes are lost), or keep yours and save them over it as the next revision.
      </div>
      <div class="row">
        <Button small kind="primary" busy={busy === "reload"} onClick={() => go("reload")}>
          Reload the latest
        </Button>
        <Button small busy={busy === "overwrite"} onClick={() => go("overwrite")}>
          Keep mine (save over it)
        </Button>
      </div>
      <ErrorBox error={error} />
    </div>
  );
}
