// An object's preview: its first rows as a table, by version, or why there is none.
import { useEffect, useState } from "preact/hooks";
import { previewObject } from "../../api/objects.js";
import { Empty, ErrorBox, Loading } from "../../components/page.jsx";

export function PreviewPanel({ name, version, versions, onVersion }) {
  const [rows, setRows] = useState(20);
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    previewObject(name, { version, rows }).then(
      (p) => live && setState({ p }),
      (error) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [name, version, rows]);
  const { p, error, loading } = state;
  return (
    <section class="panel" aria-label="Preview">
      <header class="panel-head">
        <h2>Preview</h2>
        <div class="row">
          {p && (
            <span class="muted data-preview-meta">
              {p.format.toUpperCase()} · {p.columns.length} columns · first {p.rows.length} rows
            </span>
          )}
          <select aria-label="Preview rows" value={rows} onChange={(e) => setRows(Number(e.target.value))}>
            {[20, 100, 500].map((n) => (
              <option value={n}>{n} rows</option>
            ))}
          </select>
          {versions.length > 1 && (
            <select aria-label="Preview version" value={version} onChange={(e) => onVersion(Number(e.target.value))}>
              {versions.map((v) => (
                <option value={v.version}>version {v.version}</option>
              ))}
            </select>
          )}
        </div>
      </header>
      {error ? (
        <PreviewProblem error={error} />
      ) : !p ? (
        <Loading label="Reading the first rows…" />
      ) : (
        <div class={"table-scroll data-preview-scroll" + (loading ? " data-stale" : "")}>
          <table class="table preview-table data-preview">
            <thead>
              <tr>
                <th class="data-rownum" aria-label="Row" />
                {p.columns.map((c) => (
                  <th scope="col" class={NUMERIC.test(p.dtypes[c] || "") ? "num" : undefined}>
                    <span class="data-col">{c}</span>
                    {p.dtypes[c] && <span class="data-dtype">{p.dtypes[c]}</span>}
                  </th>
                ))}
                <th class="data-fill" aria-hidden="true" />
              </tr>
            </thead>
            <tbody>
              {p.rows.map((r, i) => (
                <tr>
                  <td class="data-rownum">{i + 1}</td>
                  {r.map((v) => (
                    <Cell v={v} />
                  ))}
                  <td class="data-fill" aria-hidden="true" />
                </tr>
              ))}
            </tbody>
          </table>
          {p.rows.length === 0 && <Empty>The file has columns but no rows.</Empty>}
        </div>
      )}
    </section>
  );
}

const NUMERIC = /^(u?int|float|double|decimal|Int|UInt|Float)/;

function Cell({ v }) {
  if (v === null || v === undefined) return <td class="data-null">null</td>;
  if (typeof v === "number") return <td class="num">{String(v)}</td>;
  if (typeof v === "boolean") return <td class="data-lit">{String(v)}</td>;
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return <td title={text.length > 60 ? text : undefined}>{text}</td>;
}

function PreviewProblem({ error }) {
  if (error.status === 422 && /no preview for this type/.test(error.message)) {
    return (
      <div class="data-notice">
        <strong>No preview for this type of file.</strong>
        <span class="muted">CSV, TSV, JSON, JSON lines and Parquet files are shown as a table here; download it to look inside.</span>
      </div>
    );
  }
  return (
    <div class="data-notice data-notice-bad">
      <strong>This file cannot be previewed.</strong>
      <ErrorBox error={error} />
    </div>
  );
}
