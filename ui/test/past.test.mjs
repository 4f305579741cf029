// A run's outputs in the editor: executed cells matched to the editor's cells.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bare, matchRunCells } from "../src/pages/notebook/past.js";

const code = (id, source, extra = {}) => ({ id, cell_type: "code", source, outputs: [], execution_count: null, metadata: {}, ...extra });
const md = (id, source) => ({ id, cell_type: "markdown", source, metadata: {} });
const out = (text) => [{ output_type: "stream", name: "stdout", text }];

test("cells match by id, wherever they are", () => {
  const editor = [code("b", "print(2)"), md("m", "# hi"), code("a", "print(1)")];
  const run = [
    code("a", "print(1)", { outputs: out("1\n"), execution_count: 1 }),
    code("b", "print(2)", { outputs: out("2\n"), execution_count: 2 }),
  ];
  const m = matchRunCells(editor, run);
  assert.equal(m.get("a").outputs[0].text, "1\n");
  assert.equal(m.get("b").execution_count, 2);
  assert.equal(m.get("a").changed, false);
});

test("cells without ids match by position among the code cells", () => {
  const editor = [md("m", "# title"), code("x1", "a = 1\na"), code("x2", "b")];
  const run = [
    { cell_type: "markdown", source: ["# title"], metadata: {} },
    { cell_type: "code", source: ["a = 1\n", "a"], outputs: out("1"), execution_count: 1, metadata: {} },
    { cell_type: "code", source: "b", outputs: [], execution_count: 2, metadata: {} },
  ];
  const m = matchRunCells(editor, run);
  assert.equal(m.get("x1").outputs[0].text, "1");
  assert.equal(m.get("x1").changed, false);
  assert.deepEqual(m.get("x2").outputs, []);
  assert.equal(m.get("x2").execution_count, 2);
});

test("a cell whose code changed since the run says so; a cell the run never reached is left out", () => {
  const editor = [code("a", "print(10)"), code("b", "print(2)")];
  const run = [code("a", "print(1)", { outputs: out("1\n"), execution_count: 1 }), code("b", "print(2)")];
  const m = matchRunCells(editor, run);
  assert.equal(m.get("a").changed, true);
  assert.equal(m.has("b"), false);
});

test("an executed cell another editor cell holds by id is not matched by position", () => {
  const editor = [code("new", "x"), code("a", "print(1)")];
  const run = [code("a", "print(1)", { outputs: out("1\n"), execution_count: 1 })];
  const m = matchRunCells(editor, run);
  assert.equal(m.has("new"), false);
  assert.equal(m.get("a").outputs.length, 1);
});

test("a bare cell has no outputs and was never run", () => {
  assert.equal(bare(code("a", "x")), true);
  assert.equal(bare(code("a", "x", { execution_count: 3 })), false);
  assert.equal(bare(code("a", "x", { outputs: out("1") })), false);
  assert.equal(bare(md("m", "x")), false);
});

test("the cell a run adds for its parameters is not matched by position", () => {
  const editor = [code("p", "who = 1"), code("x", "who")];
  const run = [
    { cell_type: "code", source: "who = 1", outputs: [], execution_count: 1, metadata: { tags: ["parameters"] } },
    { cell_type: "code", source: "who = 2", outputs: [], execution_count: 2, metadata: { tags: ["injected-parameters"] } },
    { cell_type: "code", source: "who", outputs: out("2"), execution_count: 3, metadata: {} },
  ];
  const m = matchRunCells(editor, run);
  assert.equal(m.get("p").execution_count, 1);
  assert.equal(m.get("x").outputs[0].text, "2");
});
