// Streams: AMQP, MQTT or a replayed object; their live tail and test messages.
import { all, api, del, get, post } from "./client.js";

const path = (name) => `/streams/${encodeURIComponent(name)}`;

export const listStreams = () => all("/streams");

export const getStream = (name) => get(path(name));

export const createStream = (definition) => post("/streams", definition);

export const deleteStream = (name) => del(path(name));

/** The last `n` messages seen on the stream, oldest first: {items}. */
export const streamTail = (name, n) => get(`${path(name)}/tail`, { n });

/** Publish a test message: its body as typed, "key=value" headers. */
export function sendMessage(name, { body, contentType, headers = [] }) {
  const q = headers.map((h) => "header=" + encodeURIComponent(h)).join("&");
  return api("POST", `${path(name)}/messages${q ? "?" + q : ""}`, { body, headers: { "Content-Type": contentType } });
}
