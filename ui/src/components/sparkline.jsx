// A small line chart of recent values (e.g. messages/s).

export function Sparkline({ values, width = 160, height = 36, label }) {
  const data = (values || []).map(Number).filter((v) => Number.isFinite(v));
  if (data.length < 2) return <svg class="sparkline" width={width} height={height} aria-label={label} />;
  const max = Math.max(...data, 1e-9);
  const step = width / (data.length - 1);
  const points = data.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <polyline points={`0,${height} ${points.join(" ")} ${width},${height}`} class="spark-fill" />
      <polyline points={points.join(" ")} class="spark-line" />
    </svg>
  );
}
