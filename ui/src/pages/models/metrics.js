// What the models page works out from a model's versions: the metrics' names, the best value of
// each, the version an alias falls back to.

// A metric whose name says it is an error or a cost is better lower; any other is better higher.
const LOWER = /loss|err|brier|mse|rmse|mae|mape|deviance|perplexity|latency|time|cost|regret/i;

export const lowerIsBetter = (name) => LOWER.test(name);

/** The names of the metrics any version has, in the order they first appear (oldest first). */
export function metricNames(versions) {
  const names = [];
  for (const v of [...versions].reverse()) {
    for (const k of Object.keys(v.metrics || {})) if (!names.includes(k)) names.push(k);
  }
  return names;
}

/** {metric: best value} over the versions' numeric metrics. */
export function bestValues(versions) {
  const best = {};
  for (const name of metricNames(versions)) {
    const values = versions.map((v) => v.metrics?.[name]).filter((x) => typeof x === "number" && Number.isFinite(x));
    if (values.length > 1) best[name] = lowerIsBetter(name) ? Math.min(...values) : Math.max(...values);
  }
  return best;
}

/** The version an alias on `version` rolls back to: the next lower version that exists, or null. */
export function previousVersion(versions, version) {
  const lower = versions.map((v) => v.version).filter((n) => n < version);
  return lower.length ? Math.max(...lower) : null;
}

/** A metric's value, short: 0.1923 → "0.1923", 1234.5678 → "1,234.57". */
export function metricValue(x) {
  if (typeof x !== "number") return x === undefined ? "" : JSON.stringify(x);
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  const digits = Math.abs(x) >= 100 ? 2 : 4;
  return x.toLocaleString("en-US", { maximumFractionDigits: digits });
}
