// What an object or stream may be called, where it lives in the UI, and what kind of file a name holds.

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
export const NAME_RULE = "Use letters, digits, '.', '_' or '-', starting with a letter or digit.";
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
