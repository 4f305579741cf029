// Run parameters: the rows of a form (name, value as typed) and what they become. A value is
// JSON when it parses, else the text itself; the defaults are the `name = value` lines of the
// cell tagged "parameters", as papermill reads them.
import { joined } from "./outputs.js";

const IDENT = /^[A-Za-z_]\w*$/;

/** A value as typed: JSON when it parses (42, true, [1, 2], "text"), else the text itself. */
export function parseValue(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The Python type a typed value becomes, for a hint beside it. */
export function typeOf(text) {
  if (text === "") return "";
  const v = parseValue(text);
  if (v === null) return "None";
  if (Array.isArray(v)) return "list";
  return { string: "str", number: Number.isInteger(v) ? "int" : "float", boolean: "bool", object: "dict" }[typeof v];
}

/** The text to edit a value as, such that parseValue gives the value back. */
export function editable(v) {
  if (typeof v === "string" && parseValue(v) === v) return v;
  return JSON.stringify(v);
}

/** The line without its comment (a `#` outside quotes), and the comment. */
function splitComment(line) {
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "#") return [line.slice(0, i), line.slice(i + 1).trim()];
  }
  return [line, ""];
}

/**
 * Rows for the variables of the code cell tagged "parameters" (`name = value  # comment`), with
 * no value given: {key, value: "", fallback, comment, fixed}. Null when no cell is tagged.
 */
export function parameterDefaults(cells) {
  const cell = (cells || []).find((c) => c.cell_type === "code" && (c.metadata?.tags || []).includes("parameters"));
  if (!cell) return null;
  const rows = [];
  for (const line of joined(cell.source).split("\n")) {
    const [code, comment] = splitComment(line);
    const m = code.match(/^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)\s*(.*?)\s*$/);
    if (m && !rows.some((r) => r.key === m[1])) rows.push({ key: m[1], value: "", fallback: m[2], comment, fixed: true });
  }
  return rows;
}

/** Rows for the parameters of a run ({name: value}), to run it again. */
export function rowsOf(parameters) {
  return Object.entries(parameters || {}).map(([key, v]) => ({ key, value: editable(v) }));
}

/** A notebook's default rows with the values typed so far, then the other rows typed. */
export function withDefaults(defaults, rows) {
  const byKey = Object.fromEntries(rows.filter((r) => r.key).map((r) => [r.key, r]));
  const merged = defaults.map((d) => ({ ...d, value: byKey[d.key]?.value ?? "" }));
  const extra = rows.filter((r) => !defaults.some((d) => d.key === r.key) && (r.key || r.value) && !r.fixed);
  return [...merged, ...extra];
}

/** The parameters the rows give ({name: value}); an empty value keeps the default. Throws on a bad name. */
export function toParameters(rows) {
  const out = {};
  for (const r of rows) {
    const key = r.key.trim();
    if (!key && r.value === "") continue;
    if (!IDENT.test(key)) throw new Error(`“${key}” is not a valid parameter name (letters, digits and _, not starting with a digit).`);
    if (r.value !== "") out[key] = parseValue(r.value);
  }
  return out;
}
