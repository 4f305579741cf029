// Schedules in words: a cron expression described, a time read in a time zone, how soon.
import { datetime } from "../../format.js";

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** A few common cron shapes in words; "" for the rest. */
export function describeCron(cron) {
  const f = (cron || "").trim().split(/\s+/);
  if (f.length !== 5) return "";
  const [mi, h, dom, mon, dow] = f;
  const num = (s) => /^\d+$/.test(s);
  const hm = () => `${h.padStart(2, "0")}:${mi.padStart(2, "0")}`;
  if (dom !== "*" || mon !== "*") {
    if (num(mi) && num(h) && num(dom) && mon === "*" && dow === "*") return `monthly on day ${dom} at ${hm()}`;
    return "";
  }
  if (f.every((x) => x === "*")) return "every minute";
  let m;
  if ((m = mi.match(/^\*\/(\d+)$/)) && h === "*" && dow === "*") return `every ${m[1]} minutes`;
  if (num(mi) && h === "*" && dow === "*") return `every hour at :${mi.padStart(2, "0")}`;
  if (num(mi) && (m = h.match(/^\*\/(\d+)$/)) && dow === "*") return `every ${m[1]} hours at :${mi.padStart(2, "0")}`;
  if (num(mi) && num(h)) {
    if (dow === "*") return `every day at ${hm()}`;
    if (dow === "1-5") return `weekdays at ${hm()}`;
    if (/^[0-7](,[0-7])*$/.test(dow))
      return `${dow
        .split(",")
        .map((d) => DAYS[+d % 7] + "s")
        .join(", ")} at ${hm()}`;
  }
  return "";
}

export const PRESETS = [
  ["*/5 * * * *", "Every 5 min"],
  ["0 * * * *", "Hourly"],
  ["0 6 * * *", "Daily 06:00"],
  ["0 6 * * 1", "Mondays 06:00"],
];

/** A time as read in a timezone: "Mon 30 Nov, 06:00 (Europe/Paris)". */
export function zoned(when, timeZone) {
  try {
    const text = new Date(when).toLocaleString("en-GB", {
      weekday: "short",
      day: "numeric",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
      timeZone,
    });
    return `${text} (${timeZone})`;
  } catch {
    return datetime(when);
  }
}

export function timezones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
}

export function until(when) {
  if (!when) return "";
  const s = (new Date(when).getTime() - Date.now()) / 1000;
  if (s < 0) return "due now";
  if (s < 60) return `in ${Math.ceil(s)} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  if (s < 86400) return `in ${Math.round(s / 3600)} h`;
  return `in ${Math.round(s / 86400)} d`;
}
