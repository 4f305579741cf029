// The frame of a page and what fills it while it loads, is empty or fails; the tabs under its title.
import { useEffect } from "preact/hooks";

export function Page({ title, subtitle, actions, children }) {
  useEffect(() => {
    document.title = (typeof title === "string" ? title + " · " : "") + "Suricate";
  }, [title]);
  return (
    <section class="page">
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
