// How the Processing pages write rates, latencies, spans, times and stream sources.

export function rate(v) {
  if (v === null || v === undefined) return "–";
  return v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1);
}

export function ms(v) {
  if (v === null || v === undefined) return "–";
  return v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
}

export function timespan(history) {
  if (history.length < 2) return "moments";
  const s = history[history.length - 1][0] - history[0][0];
  return s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;
}

export function clock(when) {
  return new Date(when).toLocaleTimeString("en-GB");
}

export function describeStream(s) {
  if (!s) return "";
  if (s.type === "replay") return `replay of ${s.object} at ${s.rate ?? 10}/s${s.loop ? ", looping" : ""}`;
  if (s.type === "amqp") return `AMQP ${s.queue ? "queue " + s.queue : "exchange " + s.exchange}`;
  if (s.type === "mqtt") return `MQTT ${s.topic || ""}`;
  return s.type;
}
