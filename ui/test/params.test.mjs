// Run parameters as typed in the run dialogs: values, the parameters cell's defaults, validation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { editable, parameterDefaults, parseValue, rowsOf, toParameters, typeOf, withDefaults } from "../src/params.js";

test("a value is JSON when it parses, else the text itself", () => {
  assert.equal(parseValue("42"), 42);
  assert.deepEqual(parseValue("[1, 2]"), [1, 2]);
  assert.equal(parseValue('"7"'), "7");
  assert.equal(parseValue("Ada"), "Ada");
  assert.deepEqual(["42", "4.5", "true", "null", "[1]", '{"a": 1}', "Ada", ""].map(typeOf), [
    "int",
    "float",
    "bool",
    "None",
    "list",
    "dict",
    "str",
    "",
  ]);
});

test("a value is edited as text that gives it back", () => {
  for (const v of ["Ada", "42", 42, true, null, [1, "a"], { a: 1 }]) assert.deepEqual(parseValue(editable(v)), v);
});

test("the defaults are the parameters cell's assignments, with their comments", () => {
  const cells = [
    { cell_type: "markdown", metadata: { tags: ["parameters"] }, source: "x = 1" },
    {
      cell_type: "code",
      metadata: { tags: ["parameters"] },
      source: ["who = 'a # b'  # who to greet\n", "times: int = 3\n", "if times == 2:\n", "    pass\n", "times = 4\n"],
    },
  ];
  assert.deepEqual(parameterDefaults(cells), [
    { key: "who", value: "", fallback: "'a # b'", comment: "who to greet", fixed: true },
    { key: "times", value: "", fallback: "3", comment: "", fixed: true },
  ]);
  assert.equal(parameterDefaults([{ cell_type: "code", metadata: {}, source: "x = 1" }]), null);
});

test("rows keep what was typed when the notebook's defaults arrive", () => {
  const defaults = [{ key: "who", value: "", fallback: "'x'", comment: "", fixed: true }];
  const rows = [...rowsOf({ who: "Ada", extra: [1] }), { key: "", value: "" }];
  assert.deepEqual(withDefaults(defaults, rows), [
    { key: "who", value: "Ada", fallback: "'x'", comment: "", fixed: true },
    { key: "extra", value: "[1]" },
  ]);
});

test("rows give the parameters; an empty value keeps the default; a bad name is refused", () => {
  const rows = [
    { key: "who", value: "Ada" },
    { key: "times", value: "3" },
    { key: "kept", value: "" },
    { key: "", value: "" },
  ];
  assert.deepEqual(toParameters(rows), { who: "Ada", times: 3 });
  assert.throws(() => toParameters([{ key: "2bad", value: "x" }]), /“2bad” is not a valid parameter name/);
});
