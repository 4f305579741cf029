// A small line chart of recent values (e.g. messages/s), from 0 up to a little above the peak, so
// that a steady rate is a flat line part-way up and not a full band; the latest value is a dot.

const HEADROOM = 1.25; // the peak sits at 80% of the height

export function Sparkline({ values, width = 160, height = 36, label }) {
  const data = (values || []).map(Number).filter((v) => Number.isFinite(v));
  if (data.length < 2) return <svg class="sparkline" width={width} height={height} aria-label={label} />;
  const top = Math.max(...data, 0) * HEADROOM || 1; // all zeros: a line along the bottom
  const pad = 3; // room for the dot and the line's width
  const x = (i) => pad + (i * (width - 2 * pad)) / (data.length - 1);
  const y = (v) => height - pad - (Math.max(0, v) / top) * (height - 2 * pad);
  const points = data.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const last = data[data.length - 1];
  const base = (height - pad).toFixed(1);
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <title>{`${label ? label + ": " : ""}now ${+last.toFixed(2)}, peak ${+Math.max(...data).toFixed(2)}`}</title>
      <line class="spark-base" x1={pad} x2={width - pad} y1={base} y2={base} />
      <polygon points={`${x(0).toFixed(1)},${base} ${points} ${x(data.length - 1).toFixed(1)},${base}`} class="spark-fill" />
      <polyline points={points} class="spark-line" />
      <circle class="spark-dot" cx={x(data.length - 1).toFixed(1)} cy={y(last).toFixed(1)} r="2.5" />
    </svg>
  );
}
