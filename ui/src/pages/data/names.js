// What an object or stream may be called, where it lives in the UI, and what kind of file a name holds.

// Streams keep strict names (they appear in code and URIs); objects are named as files are
// (the server's suricate/names.py holds the rule; this mirrors it for early feedback).
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
export const NAME_RULE = "Use letters, digits, '.', '_' or '-', starting with a letter or digit.";
export const OBJECT_NAME_RULE = "Use up to 255 bytes of text without '/' or control characters, and no leading or trailing spaces.";
const FORBIDDEN = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069/]/u;

/** Whether an object name is valid (any text of 1-255 UTF-8 bytes, see OBJECT_NAME_RULE). */
export function objectNameOk(name) {
  if (!name || name === "." || name === ".." || name.trim() !== name || FORBIDDEN.test(name)) return false;
  return new TextEncoder().encode(name.normalize("NFC")).length <= 255;
}
export const enc = encodeURIComponent;
export const objectHref = (name) => `/data/objects/${enc(name)}`;
export const streamHref = (name) => `/data/streams/${enc(name)}`;

const KINDS = [
  [/\.csv(\.gz)?$/i, "CSV"],
  [/\.(tsv|tab)(\.gz)?$/i, "TSV"],
  [/\.(jsonl|ndjson)(\.gz)?$/i, "JSON lines"],
  [/\.json(\.gz)?$/i, "JSON"],
  [/\.parquet$/i, "Parquet"],
  [/\.(pkl|pickle|joblib)$/i, "Pickle"],
  [/\.(png|jpe?g|gif|svg|webp)$/i, "Image"],
  [/\.(txt|log|md)$/i, "Text"],
  [/\.ipynb$/i, "Notebook"],
  [/\.(zip|gz|tgz)$/i, "Archive"],
];
const CTYPES = { "text/csv": "CSV", "application/json": "JSON", "text/plain": "Text", "application/octet-stream": "Binary" };

export function kindOf(name, contentType) {
  const found = KINDS.find(([re]) => re.test(name));
  if (found) return found[1];
  const ctype = (contentType || "").split(";")[0].trim();
  return CTYPES[ctype] || ctype || "Binary";
}
