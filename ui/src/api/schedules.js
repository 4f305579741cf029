// Schedules: a notebook run on a cron expression, in a time zone.
import { all, del, post } from "./client.js";

export const listSchedules = () => all("/schedules");

export const createSchedule = (notebookId, { cron, timezone, parameters }) =>
  post(`/notebooks/${encodeURIComponent(notebookId)}/schedules`, { cron, timezone, parameters });

export const deleteSchedule = (id) => del(`/schedules/${encodeURIComponent(id)}`);
