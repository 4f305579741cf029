// A dict as chips: key=value (or key: value), values compact, long ones cut with a tooltip.
import "./key-values.css";

function show(value) {
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** A dict as chips: key=value (or key: value), values compact, long ones cut with a tooltip. */
export function KeyValues({ data, sep = "=", empty = null, max = 60 }) {
  const entries = Object.entries(data || {});
  if (!entries.length) return empty;
  return (
    <span class="kv">
      {entries.map(([k, v]) => {
        const text = show(v);
        const cut = text.length > max ? text.slice(0, max - 1) + "…" : text;
        return (
          <span class="kv-chip" title={text.length > max ? text : undefined}>
            <span class="kv-key">{k}</span>
            <span class="kv-sep">{sep}</span>
            <span class={"kv-val kv-" + (v === null ? "null" : typeof v)}>{cut}</span>
          </span>
        );
      })}
    </span>
  );
}
