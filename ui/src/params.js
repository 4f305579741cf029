// Run parameters as typed in a form: a value is JSON when it parses, else the text itself.

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
