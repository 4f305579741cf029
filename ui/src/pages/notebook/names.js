// The names a notebook's code defines at its top level, for Tab completion across cells: what
// Python would leave in the kernel's namespace once the cells ran (assignments, def and class,
// imports and their aliases, for and with targets, :=). Read from CodeMirror's Python syntax
// tree (Lezer), which tolerates code that does not parse (IPython magics, a half-typed line).
import { pythonLanguage } from "@codemirror/lang-python";

// Their own scope: names bound inside do not reach the notebook's namespace.
const SCOPES = new Set([
  "FunctionDefinition",
  "ClassDefinition",
  "LambdaExpression",
  "ArrayComprehensionExpression",
  "DictionaryComprehensionExpression",
  "SetComprehensionExpression",
  "ComprehensionExpression",
]);
// Targets that unpack: `a, (b, c) = …`, `for [x, y] in …`.
const UNPACK = new Set(["TupleExpression", "ArrayExpression", "ParenthesizedExpression"]);

function targets(node, def) {
  if (node.name === "VariableName") def(node, "variable");
  else if (UNPACK.has(node.name)) for (let c = node.firstChild; c; c = c.nextSibling) targets(c, def);
}

const GATHER = {
  FunctionDefinition(node, def) {
    const name = node.getChild("VariableName");
    if (name) def(name, "function");
  },
  ClassDefinition(node, def) {
    const name = node.getChild("VariableName");
    if (name) def(name, "class");
  },
  AssignStatement(node, def) {
    // Every part before the last `=` is a target (`a = b = 1`); `x: int = 1` too.
    const ops = [];
    for (let c = node.firstChild; c; c = c.nextSibling) if (c.name === "AssignOp") ops.push(c);
    const last = ops[ops.length - 1];
    if (!last) return;
    for (let c = node.firstChild; c && c.from < last.from; c = c.nextSibling) targets(c, def);
  },
  ForStatement(node, def) {
    for (let c = node.firstChild?.nextSibling; c && c.name !== "in"; c = c.nextSibling) targets(c, def);
  },
  ImportStatement(node, def) {
    // import a.b, c as d · from m import x, y as z: the first part of a dotted name, or the alias.
    const from = node.firstChild?.name === "from";
    let after = !from;
    for (let c = node.firstChild; c; c = c.nextSibling) {
      if (c.name === "import") after = true;
      if (!after || c.name !== "VariableName") continue;
      const prev = c.prevSibling?.name;
      if (c.nextSibling?.name === "as" || prev === ".") continue;
      def(c, from ? "variable" : "namespace");
    }
  },
  NamedExpression(node, def) {
    const name = node.firstChild;
    if (name?.name === "VariableName") def(name, "variable");
  },
  WithStatement: aliases,
  TryStatement: aliases,
};

function aliases(node, def) {
  for (let c = node.firstChild; c; c = c.nextSibling) {
    if (c.name === "VariableName" && c.prevSibling?.name === "as") def(c, "variable");
  }
}

/** The top-level names `source` defines, as [name, type] pairs (type as CodeMirror's icons). */
export function definedNames(source) {
  const found = [];
  if (!source.trim()) return found;
  const tree = pythonLanguage.parser.parse(source);
  const def = (node, type) => found.push([source.slice(node.from, node.to), type]);
  tree.cursor().iterate((ref) => {
    const gather = GATHER[ref.name];
    if (gather) gather(ref.node, def);
    return !SCOPES.has(ref.name);
  });
  return found;
}
