// Form controls: buttons, labelled fields, and the status badge.
import { cloneElement, toChildArray } from "preact";
import { useRef } from "preact/hooks";

export function Button({ kind = "secondary", small, busy, children, ...rest }) {
  return (
    <button type="button" class={`btn btn-${kind}${small ? " btn-small" : ""}`} disabled={busy || rest.disabled} {...rest}>
      {busy && <span class="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

const STATUS_KIND = {
  succeeded: "ok",
  running: "run",
  busy: "run",
  starting: "run",
  queued: "wait",
  idle: "ok",
  failed: "bad",
  timed_out: "bad",
  cancelled: "muted",
  stopped: "muted",
  dead: "bad",
  replaying: "run",
  replayed: "ok",
  connected: "ok",
  restarted: "wait",
  disconnected: "bad",
};

export function Badge({ status, children }) {
  return <span class={`badge badge-${STATUS_KIND[status] || "muted"}`}>{children || status}</span>;
}

let fieldIds = 0;

/** A labelled form control. With one control, the label points at it (`for`) and the hint
 * describes it (`aria-describedby`), so its accessible name is the label alone. */
export function Field({ label, hint, children }) {
  const id = useRef(null);
  if (id.current === null) id.current = `field-${++fieldIds}`;
  const kids = toChildArray(children);
  const single = kids.length === 1 && ["input", "select", "textarea"].includes(kids[0]?.type);
  if (!single) {
    return (
      <label class="field">
        <span class="field-label">{label}</span>
        {children}
        {hint && <span class="field-hint">{hint}</span>}
      </label>
    );
  }
  const control = kids[0];
  const controlId = control.props.id || id.current;
  const hintId = hint ? `${controlId}-hint` : undefined;
  return (
    <div class="field">
      <label class="field-label" for={controlId}>
        {label}
      </label>
      {cloneElement(control, { id: controlId, "aria-describedby": hintId })}
      {hint && (
        <span class="field-hint" id={hintId}>
          {hint}
        </span>
      )}
    </div>
  );
}
