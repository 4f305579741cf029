// Schedules: a notebook run on a cron expression in a time zone, or when data changes (a trigger).
import { all, del, post } from "./client.js";

export const listSchedules = () => all("/schedules");

/** `cron` and `timezone`, or `trigger`: {object, rows?} or {model, alias}. */
export const createSchedule = (notebookId, { cron, timezone, trigger, parameters }) =>
  post(`/notebooks/${encodeURIComponent(notebookId)}/schedules`, trigger ? { trigger, parameters } : { cron, timezone, parameters });

export const deleteSchedule = (id) => del(`/schedules/${encodeURIComponent(id)}`);
