// Formatting shared by every page.

export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
}

export function number(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
}

export function ago(when) {
  if (!when) return "";
  const s = (Date.now() - new Date(when).getTime()) / 1000;
  if (s < 5) return "just now";
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function datetime(when) {
  if (!when) return "";
  return new Date(when).toLocaleString("en-GB", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

export function duration(start, end) {
  if (!start) return "";
  const ms = new Date(end || Date.now()).getTime() - new Date(start).getTime();
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** The first characters of an id: enough to tell runs and processors apart in a list. */
export function shortId(id) {
  return String(id).slice(0, 8);
}

/** A number of seconds as a short span: "45 s", "12 min", "3 h 5 min"; "–" when unknown. */
export function seconds(s) {
  if (s === null || s === undefined || !Number.isFinite(Number(s))) return "–";
  const n = Math.max(0, Number(s));
  if (n < 60) return `${Math.floor(n)} s`;
  if (n < 3600) return `${Math.floor(n / 60)} min`;
  return `${Math.floor(n / 3600)} h ${Math.floor((n % 3600) / 60)} min`;
}
