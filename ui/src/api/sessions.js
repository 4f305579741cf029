// Kernel sessions: the editor's kernel for a notebook, and its WebSocket.
import { API, del, get, post } from "./client.js";

const path = (id) => `/sessions/${encodeURIComponent(id)}`;

/** The user's running sessions. */
export const listSessions = async () => (await get("/sessions")).items;

export const startSession = (notebookId) => post("/sessions", { notebook_id: notebookId });

export const interruptSession = (id) => post(`${path(id)}/interrupt`);

export const restartSession = (id) => post(`${path(id)}/restart`);

/** Shut the kernel down. */
export const stopSession = (id) => del(path(id));

/** Open the session's WebSocket: code to execute goes in, kernel events come out. */
export function openSessionSocket(id) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return new WebSocket(`${scheme}://${location.host}${API}${path(id)}/ws`);
}
