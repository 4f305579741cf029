// A processing notebook's banner, and "Try on a message": hand a sample message to the handler in
// this editor's kernel, the way a processor would (suricate.kernel.handler), and show what it did.
import { useState } from "preact/hooks";
import { Outputs } from "../../components/outputs.jsx";
import { Link } from "../../router.jsx";
import { Button } from "../../components/controls.jsx";
import { ErrorBox } from "../../components/page.jsx";
import { TRIAL } from "./handler.js";

const SAMPLE = '{"id": 1, "text": "hello"}';

function show(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function Result({ trial }) {
  const { result } = trial;
  if (!result) return null;
  const failure = result.failures?.["0"];
  if (failure) {
    return (
      <div class="nb-trial-result" role="status">
        <p class="nb-trial-failed">The handler raised {failure.error}</p>
        <pre class="nb-trial-tb">{failure.traceback}</pre>
        <p class="muted">A processor would retry this message, then dead-letter it.</p>
      </div>
    );
  }
  const actions = result.actions || [];
  return (
    <div class="nb-trial-result" role="status">
      <p class="nb-trial-ok">
        Handled in {Math.max(1, Math.round((result.elapsed || 0) * 1000))} ms ·{" "}
        {actions.length === 1 ? "1 action" : `${actions.length} actions`}
        {actions.length > 0 && " (shown here, not recorded)"}
      </p>
      {actions.length > 0 && (
        <ul class="nb-trial-actions">
          {actions.map((a) => (
            <li>
              <strong>{a.text}</strong>
              {Object.entries(a.data || {}).map(([k, v]) => (
                <span class="nb-trial-chip">
                  <span class="muted">{k}=</span>
                  {show(v)}
                </span>
              ))}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function TrialPanel({ model, onClose }) {
  const last = model.trial?.message;
  const [body, setBody] = useState(last ? last.text : SAMPLE);
  const [headers, setHeaders] = useState(last ? JSON.stringify(last.headers) : "{}");
  const [error, setError] = useState(null);
  const state = model.run[TRIAL];
  const submit = (e) => {
    e.preventDefault();
    let parsed;
    try {
      parsed = JSON.parse(headers.trim() || "{}");
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
    } catch {
      return setError('Headers must be a JSON object, such as {"source": "test"}.');
    }
    setError(null);
    model.tryMessage({ text: body, headers: parsed });
  };
  const onKeyDown = (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey || e.shiftKey)) submit(e);
  };
  const trial = model.trial;
  return (
    <form class="nb-trial" onSubmit={submit} aria-label="Try the handler on a message">
      <div class="nb-trial-head">
        <strong>Try the handler on a message</strong>
        <button type="button" class="icon-btn" aria-label="Close the trial" onClick={onClose}>
          ×
        </button>
      </div>
      <p class="muted">
        Calls <code>on_message(msg)</code> (or <code>on_batch([msg])</code>) in this notebook's kernel, as a processor does: run the cells
        first. <code>msg.body</code> is the body decoded as JSON (bytes when it is not JSON). <code>sdk.action</code> calls are listed here
        and not recorded; <code>sdk.emit</code> does publish.
      </p>
      <div class="nb-trial-fields">
        <label class="field">
          <span class="field-label">Message body</span>
          <textarea class="mono" rows={3} value={body} spellcheck={false} onInput={(e) => setBody(e.target.value)} onKeyDown={onKeyDown} />
        </label>
        <label class="field">
          <span class="field-label">Headers (JSON)</span>
          <textarea
            class="mono"
            rows={3}
            value={headers}
            spellcheck={false}
            onInput={(e) => setHeaders(e.target.value)}
            onKeyDown={onKeyDown}
          />
        </label>
      </div>
      <div class="row">
        <Button kind="primary" small type="submit" busy={Boolean(state)}>
          Run the handler
        </Button>
        <span class="muted">
          {state === "queued" ? "Waiting for the cells before it…" : state === "running" ? "Running…" : "Ctrl+Enter"}
        </span>
      </div>
      <ErrorBox error={error} />
      {trial && !state && (
        <>
          <Result trial={trial} />
          {trial.outputs.length > 0 && <Outputs outputs={trial.outputs} />}
          {trial.error && <div class="cell-error">{trial.error}</div>}
        </>
      )}
    </form>
  );
}

export function ProcessingBanner({ model }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <div class="nb-hint nb-processing">
        <span>
          A processing notebook: a processor runs its cells once, then calls <code>on_message(msg)</code> for each message of a stream. Try
          the handler here, then deploy it on a stream from <Link href="/processing">Processing</Link>.
        </span>
        {!open && (
          <Button small onClick={() => setOpen(true)}>
            Try on a message
          </Button>
        )}
      </div>
      {open && <TrialPanel model={model} onClose={() => setOpen(false)} />}
    </>
  );
}
