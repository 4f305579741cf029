// The output-merging rule against the fixtures the server's Python is tested against too.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { emptyOutputs, mergeOutput, mergeOutputs } from "../src/outputs.js";

const dir = new URL("../../tests/files/outputs/", import.meta.url);
const fixtures = readdirSync(dir).filter((f) => f.endsWith(".json"));

test("there are fixtures", () => {
  assert.ok(fixtures.length >= 5, `found ${fixtures.length} in ${dir.pathname}`);
});

for (const file of fixtures) {
  const { description, events, outputs } = JSON.parse(readFileSync(new URL(file, dir), "utf8"));
  test(`${file}: ${description}`, () => {
    assert.deepEqual(mergeOutputs(events), outputs);
  });
}

test("merging leaves the earlier state and the events as they were", () => {
  const events = [
    { output_type: "stream", name: "stdout", text: ["a"] },
    { output_type: "display_data", data: { "text/plain": "1" }, metadata: {}, transient: { display_id: "x" } },
    { output_type: "update_display_data", data: { "text/plain": "2" }, metadata: {}, transient: { display_id: "x" } },
  ];
  const copy = structuredClone(events);
  const first = mergeOutput(emptyOutputs(), events[0]);
  const second = mergeOutput(first, events[1]);
  const third = mergeOutput(second, events[2]);
  assert.deepEqual(events, copy);
  assert.equal(first.outputs.length, 1);
  assert.equal(second.outputs[1].data["text/plain"], "1");
  assert.equal(third.outputs[1].data["text/plain"], "2");
});

test("a message that is not an output is ignored", () => {
  const state = mergeOutput(emptyOutputs(), { output_type: "stream", name: "stdout", text: "a" });
  assert.equal(mergeOutput(state, { output_type: "status" }), state);
});
