// What the models page works out from a model's versions, and schedule triggers in words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bestValues, lowerIsBetter, metricNames, metricValue, previousVersion } from "../src/pages/models/metrics.js";
import { describeTrigger } from "../src/pages/runs/trigger.js";

const versions = [
  { version: 4, metrics: { accuracy: 0.7, brier: 0.2 } },
  { version: 2, metrics: { accuracy: 0.8, brier: 0.25, auc: 0.9 } },
  { version: 1, metrics: { accuracy: 0.6, brier: 0.19 } },
];

test("an error or a cost is better lower, anything else higher", () => {
  assert.equal(lowerIsBetter("brier"), true);
  assert.equal(lowerIsBetter("val_loss"), true);
  assert.equal(lowerIsBetter("accuracy"), false);
});

test("metric names in the order they first appear, oldest version first", () => {
  assert.deepEqual(metricNames(versions), ["accuracy", "brier", "auc"]);
});

test("the best value of each metric over two or more versions", () => {
  assert.deepEqual(bestValues(versions), { accuracy: 0.8, brier: 0.19 });
});

test("rolling back goes to the next lower version that exists", () => {
  assert.equal(previousVersion(versions, 4), 2);
  assert.equal(previousVersion(versions, 2), 1);
  assert.equal(previousVersion(versions, 1), null);
});

test("metric values are short", () => {
  assert.equal(metricValue(0.192345), "0.1923");
  assert.equal(metricValue(1234.5678), "1,234.57");
  assert.equal(metricValue(3), "3");
});

test("a trigger in words", () => {
  assert.equal(describeTrigger({ object: "nfl-live-plays.jsonl", rows: 500 }), "when nfl-live-plays.jsonl gains 500 rows");
  assert.equal(describeTrigger({ object: "plays.csv" }), "when plays.csv gets a new version");
  assert.equal(describeTrigger({ model: "advice", alias: "champion" }), "when advice@champion moves");
});
