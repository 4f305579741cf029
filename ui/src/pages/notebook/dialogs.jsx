// The editor's dialogs and banners: run as a job, keyboard shortcuts, and the save conflict.
import { useState } from "preact/hooks";
import { post } from "../../api.js";
import { ago } from "../../format.js";
import { Link, navigate } from "../../router.jsx";
import { Button, ErrorBox, Field, Modal } from "../../ui.jsx";

export function RunJobDialog({ model, onClose }) {
  const [text, setText] = useState("{}");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [run, setRun] = useState(null);
  const hasParams = model.cells.some((c) => (c.metadata.tags || []).includes("parameters"));
  const submit = async (e) => {
    e.preventDefault();
    let parameters;
    try {
      parameters = JSON.parse(text || "{}");
      if (!parameters || typeof parameters !== "object" || Array.isArray(parameters)) throw new Error();
    } catch {
      setError('Parameters must be a JSON object, such as {"season": 2013}.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await model.save(true);
      if (model.conflict || model.saveError) throw model.conflict || model.saveError;
      setRun(await post(`/notebooks/${encodeURIComponent(model.info.id)}/runs`, { parameters }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Run as a job"
      onClose={onClose}
      footer={
        run ? (
          <>
            <Button onClick={onClose}>Close</Button>
            <Button kind="primary" onClick={() => navigate(`/runs/${run.id}`)}>
              Open the run
            </Button>
          </>
        ) : (
          <>
            <Button onClick={onClose}>Cancel</Button>
            <Button kind="primary" type="submit" form="run-job" busy={busy}>
              Start run
            </Button>
          </>
        )
      }
    >
      {run ? (
        <p>
          Run <Link href={`/runs/${run.id}`}>{run.id.slice(0, 8)}</Link> of revision {run.notebook_revision} is {run.status}. It runs
          in a fresh kernel; this editor's kernel is not touched.
        </p>
      ) : (
        <form id="run-job" onSubmit={submit}>
          <p class="muted">
            Runs the saved notebook from top to bottom in a fresh kernel, as the REST API and schedules do.
          </p>
          <Field
            label="Parameters (JSON)"
            hint={
              hasParams
                ? "Set as variables just after the cell tagged “parameters”."
                : "Tag a cell “parameters” (cell toolbar) to give its variables defaults; these are set after it."
            }
          >
            <textarea rows={5} value={text} onInput={(e) => setText(e.target.value)} spellcheck={false} />
          </Field>
          <ErrorBox error={error} />
        </form>
      )}
    </Modal>
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
        {model.conflict.revision
          ? ` (revision ${model.conflict.revision}, saved ${ago(model.conflict.created_at)}).`
          : "."}{" "}
        Your changes here are not saved. Reload the latest revision (your changes are lost), or keep yours and save them over it
        as the next revision.
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
