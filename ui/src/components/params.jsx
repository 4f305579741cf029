// The parameter rows of the run dialogs (runs page, schedules, the editor's "Run as job").
import "./params.css";
import { useEffect, useState } from "preact/hooks";
import { getNotebook } from "../api/notebooks.js";
import { parameterDefaults, rowsOf, typeOf, withDefaults } from "../params.js";
import { Button } from "./controls.jsx";

/** How values are read, for a hint beside the rows. */
export const PARAMS_HINT = 'Values are JSON when valid (42, true, [1, 2], "text"), otherwise text. An empty value keeps the default.';

/** Rows of name and value: a notebook's parameters (fixed names) and those added. */
export function ParamRows({ rows, onChange, hint }) {
  const set = (i, change) => onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <div class="params">
      {rows.length > 0 && (
        <div class="params-head">
          <span>Name</span>
          <span>Value</span>
        </div>
      )}
      {rows.map((r, i) => (
        <div class="params-row" key={i}>
          <input
            class="mono"
            aria-label="Parameter name"
            placeholder="name"
            value={r.key}
            readOnly={r.fixed}
            onInput={(e) => set(i, { key: e.target.value })}
          />
          <input
            class="mono"
            aria-label={r.key ? `Value of ${r.key}` : "Parameter value"}
            placeholder={r.fixed ? `${r.fallback} (default)` : "value"}
            value={r.value}
            onInput={(e) => set(i, { value: e.target.value })}
          />
          <span class="params-type" title="The type the value is passed as">
            {typeOf(r.value)}
          </span>
          {r.fixed ? (
            <span />
          ) : (
            <button
              type="button"
              class="icon-btn"
              aria-label={`Remove parameter ${r.key}`}
              onClick={() => onChange(rows.filter((_, j) => j !== i))}
            >
              ×
            </button>
          )}
          {r.comment && <span class="params-note">{r.comment}</span>}
        </div>
      ))}
      <div class="row">
        <Button small onClick={() => onChange([...rows, { key: "", value: "" }])}>
          + Add parameter
        </Button>
        {hint && <span class="field-hint">{hint}</span>}
      </div>
    </div>
  );
}

/** Rows for a notebook chosen in a dialog: its defaults, with the values given (or typed) kept. */
export function useParamRows(notebookId, parameters) {
  const [rows, setRows] = useState(() => rowsOf(parameters));
  useEffect(() => {
    if (!notebookId) return undefined;
    let gone = false;
    getNotebook(notebookId)
      .then((nb) => !gone && setRows((current) => withDefaults(parameterDefaults(nb.notebook.cells) || [], current)))
      .catch(() => {});
    return () => (gone = true);
  }, [notebookId]);
  return [rows, setRows];
}
