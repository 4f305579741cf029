// Processors: processing notebooks deployed on streams; their counters and dead letters.
import { del, get, post, put } from "./client.js";

const path = (id) => `/processors/${encodeURIComponent(id)}`;

/** One page of processors: {items, next}; `stream` keeps those reading it. */
export const listProcessors = ({ stream, limit }) => get("/processors", { stream, limit });

export const getProcessor = (id) => get(path(id));

/** Deploy: {notebook_id, stream, batch_size, batch_wait_ms, max_retries, replicas}. */
export const deployProcessor = (settings) => post("/processors", settings);

/** Start again on the notebook's current revision. */
export const restartProcessor = (id) => post(`${path(id)}/restart`);

export const stopProcessor = (id) => del(path(id));

/** One page of its dead letters: {items, next}. */
export const listDeadLetters = (id, { limit }) => get(`${path(id)}/dead-letters`, { limit });

/** Hand the dead letters back to the processor: {replaying: count}. */
export const replayDeadLetters = (id) => post(`${path(id)}/dead-letters/replay`);

/** Run a challenger in shadow: {model, alias, champion, policy}; the processor starts again. */
export const setShadow = (id, shadow) => put(`${path(id)}/shadow`, shadow);

/** Stop running a challenger in shadow. */
export const clearShadow = (id) => del(`${path(id)}/shadow`);

/** A processor's challenger actions, newest first: {items, next}. */
export const shadowActions = (id, limit) => get("/actions", { processor: id, feed: "shadow", newest_first: true, limit });
