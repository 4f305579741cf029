// Building blocks every page uses: page frame, buttons, errors in place, badges, dialogs,
// toasts, polling and a sparkline.
import { cloneElement, toChildArray } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { signal } from "./signal.js";

export function Page({ title, subtitle, actions, children, wide }) {
  useEffect(() => {
    document.title = (typeof title === "string" ? title + " · " : "") + "Suricate";
  }, [title]);
  return (
    <section class={"page" + (wide ? " wide" : "")}>
      <header class="page-head">
        <div>
          <h1>{title}</h1>
          {subtitle && <p class="subtitle">{subtitle}</p>}
        </div>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Button({ kind = "secondary", small, busy, children, ...rest }) {
  return (
    <button type="button" class={`btn btn-${kind}${small ? " btn-small" : ""}`} disabled={busy || rest.disabled} {...rest}>
      {busy && <span class="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

export function ErrorBox({ error, onClose }) {
  if (!error) return null;
  const message = typeof error === "string" ? error : error.message;
  // The error's code is for support and scripts, not for reading: it is a tooltip.
  return (
    <div class="error-box" role="alert" title={error.code ? `error code: ${error.code}` : undefined}>
      <span>{message}</span>
      {onClose && (
        <button class="icon-btn" aria-label="Dismiss" onClick={onClose}>
          ×
        </button>
      )}
    </div>
  );
}

export function Empty({ children }) {
  return <div class="empty">{children}</div>;
}

export function Loading({ label = "Loading…" }) {
  return (
    <div class="loading">
      <span class="spinner" aria-hidden="true" /> {label}
    </div>
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

/** Run fn now and every ms while the page shows; returns [data, error, reload]. */
export function usePoll(fn, ms, deps = []) {
  const [state, setState] = useState({ data: undefined, error: null });
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const reload = useCallback(async () => {
    try {
      const data = await fnRef.current();
      setState({ data, error: null });
    } catch (error) {
      setState((s) => ({ data: s.data, error }));
    }
  }, []);
  useEffect(() => {
    setState({ data: undefined, error: null });
    reload();
    if (!ms) return undefined;
    const timer = setInterval(() => document.visibilityState === "visible" && reload(), ms);
    return () => clearInterval(timer);
  }, deps);
  return [state.data, state.error, reload];
}

// Toasts: short confirmations and failures, bottom right.
export const toasts = signal([]);
let toastId = 0;
export function toast(text, kind = "ok") {
  const id = ++toastId;
  toasts.set([...toasts.get(), { id, text, kind }]);
  setTimeout(() => toasts.set(toasts.get().filter((t) => t.id !== id)), kind === "bad" ? 8000 : 3500);
}

export function Toasts() {
  const list = toasts.use();
  return (
    <div class="toasts" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

/** A modal dialog; Escape or the backdrop closes it. */
export function Modal({ title, onClose, children, footer, wide }) {
  const ref = useRef();
  useEffect(() => {
    const onKey = (e) => e.key === "Escape" && onClose();
    document.addEventListener("keydown", onKey);
    const first = ref.current && ref.current.querySelector("input, select, textarea, button.btn-primary");
    if (first) first.focus();
    return () => document.removeEventListener("keydown", onKey);
  }, []);
  return (
    <div class="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div class={"modal" + (wide ? " modal-wide" : "")} role="dialog" aria-modal="true" aria-label={title} ref={ref}>
        <header class="modal-head">
          <h2>{title}</h2>
          <button class="icon-btn" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        <div class="modal-body">{children}</div>
        {footer && <footer class="modal-foot">{footer}</footer>}
      </div>
    </div>
  );
}

/** Ask before doing something that cannot be undone. */
export function Confirm({ title, message, confirmLabel = "Delete", onConfirm, onClose }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const go = async () => {
    setBusy(true);
    try {
      await onConfirm();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={title}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="danger" busy={busy} onClick={go}>
            {confirmLabel}
          </Button>
        </>
      }
    >
      <p>{message}</p>
      <ErrorBox error={error} />
    </Modal>
  );
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

/** A small line chart of recent values (e.g. messages/s). */
export function Sparkline({ values, width = 160, height = 36, label }) {
  const data = (values || []).map(Number).filter((v) => Number.isFinite(v));
  if (data.length < 2) return <svg class="sparkline" width={width} height={height} aria-label={label} />;
  const max = Math.max(...data, 1e-9);
  const step = width / (data.length - 1);
  const points = data.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <polyline points={`0,${height} ${points.join(" ")} ${width},${height}`} class="spark-fill" />
      <polyline points={points.join(" ")} class="spark-line" />
    </svg>
  );
}

export function Tabs({ tabs, current, onChange }) {
  return (
    <div class="tabs" role="tablist">
      {tabs.map(([key, label]) => (
        <button
          key={key}
          role="tab"
          aria-selected={current === key}
          class={"tab" + (current === key ? " tab-active" : "")}
          onClick={() => onChange(key)}
        >
          {label}
        </button>
      ))}
    </div>
  );
}
