// Actions: what processors record (sdk.action), the latest ones and the live feed.
import { API, get } from "./client.js";

/** A processor's latest actions, newest first: {items, next}. */
export const recentActions = (processorId, limit) => get("/actions", { processor: processorId, newest_first: true, limit });

/**
 * Follow a processor's actions as they are recorded (server-sent events): onAction(action) for
 * each, onState("live" | "reconnecting" | "closed"). Returns the function that stops.
 */
export function followActions(processorId, { onAction, onState }) {
  const source = new EventSource(`${API}/actions/feed?processor=${encodeURIComponent(processorId)}`);
  source.addEventListener("action", (e) => {
    let action;
    try {
      action = JSON.parse(e.data);
    } catch {
      return; // not an action
    }
    onAction(action);
  });
  source.onopen = () => onState("live");
  source.onerror = () => onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  return () => source.close();
}

/** The latest actions made with a model's version, newest first: {items, next}. */
export const modelActions = (model, version, limit = 20) => get("/actions", { model, model_version: version, newest_first: true, limit });
