// What the runs pages know of a run's status.

/** A run that is still to finish: polled every second. */
export const ACTIVE = new Set(["queued", "running"]);
