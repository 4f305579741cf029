// "Run notebook": the notebook, its parameters and a timeout; opens the run's page.
import { useState } from "preact/hooks";
import { startRun } from "../../api/runs.js";
import { useNotebooks } from "../../api/notebooks.js";
import { Button, Field } from "../../components/controls.jsx";
import { Modal } from "../../components/modal.jsx";
import { NotebookSelect } from "../../components/notebook-select.jsx";
import { Loading, ErrorBox } from "../../components/page.jsx";
import { ParamRows, PARAMS_HINT, useParamRows } from "../../components/params.jsx";
import { toast } from "../../components/toasts.jsx";
import { toParameters } from "../../params.js";
import { Link, navigate } from "../../router.jsx";

/** Start a run: notebook, parameters, timeout; opens the run's page. */
export function RunDialog({ notebookId = "", parameters, onClose }) {
  const [notebooks] = useNotebooks();
  const [nb, setNb] = useState(notebookId);
  const [rows, setRows] = useParamRows(nb, parameters);
  const [timeout, setTimeoutS] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (!nb) return setError("Choose a notebook to run.");
    let params;
    try {
      params = toParameters(rows);
    } catch (err) {
      return setError(err.message);
    }
    let timeoutS;
    if (timeout !== "") {
      timeoutS = Number(timeout);
      if (!(timeoutS > 0)) return setError("The timeout is a number of seconds above 0.");
    }
    setBusy(true);
    try {
      const run = await startRun(nb, { parameters: params, timeout_s: timeoutS });
      onClose();
      toast("Run started");
      navigate(`/runs/${run.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Run notebook"
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="run-form" busy={busy}>
            ▶ Start run
          </Button>
        </>
      }
    >
      <form onSubmit={submit} id="run-form">
        {notebooks === undefined ? (
          <Loading />
        ) : notebooks.length === 0 ? (
          <p class="muted">
            No notebooks yet: create one on the <Link href="/notebooks">Notebooks</Link> page.
          </p>
        ) : (
          <NotebookSelect notebooks={notebooks} value={nb} onChange={setNb} />
        )}
        <div class="field">
          <span class="field-label">Parameters</span>
          <ParamRows rows={rows} onChange={setRows} hint={PARAMS_HINT} />
        </div>
        <Field label="Timeout (seconds)" hint="Optional: past it the running cell is interrupted and the run ends as timed out.">
          <input
            type="number"
            min="1"
            step="any"
            placeholder="no limit"
            value={timeout}
            onInput={(e) => setTimeoutS(e.target.value)}
            class="run-timeout"
          />
        </Field>
        <ErrorBox error={error} />
      </form>
    </Modal>
  );
}
