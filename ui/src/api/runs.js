// Runs: a notebook executed top to bottom in a fresh kernel, with parameters.
import { API, get, post } from "./client.js";

const path = (id) => `/runs/${encodeURIComponent(id)}`;

/** One page of runs, newest first: {items, next}. */
export const listRuns = ({ notebookId, limit }) => get("/runs", { notebook_id: notebookId, limit });

export const getRun = (id) => get(path(id));

/** The executed notebook as it stands (the running cell's output is saved every second). */
export const getRunNotebook = (id) => get(`${path(id)}/notebook`);

/** Start a run: {parameters, timeout_s?}. */
export const startRun = (notebookId, { parameters, timeout_s }) =>
  post(`/notebooks/${encodeURIComponent(notebookId)}/runs`, timeout_s === undefined ? { parameters } : { parameters, timeout_s });

export const cancelRun = (id) => post(`${path(id)}/cancel`);

/** Where the executed notebook downloads as an .ipynb file. */
export const runNotebookUrl = (id) => `${API}${path(id)}/notebook`;
