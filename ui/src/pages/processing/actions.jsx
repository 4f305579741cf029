// A processor's actions, newest first: the latest ones, then live as they are recorded.
import { useEffect, useState } from "preact/hooks";
import { followActions, recentActions } from "../../api/actions.js";
import { Button } from "../../components/controls.jsx";
import { KeyValues } from "../../components/key-values.jsx";
import { ModelChips } from "../../components/model-chips.jsx";
import { Empty, ErrorBox } from "../../components/page.jsx";
import { datetime } from "../../format.js";
import { clock } from "./format.js";

const FEED_MAX = 300;

/** Actions of one processor, newest first: the recent ones, then live from the SSE feed. */
function useActionFeed(id) {
  const [items, setItems] = useState([]);
  const [state, setState] = useState("connecting");
  const [error, setError] = useState(null);
  useEffect(() => {
    let gone = false;
    const byId = new Map();
    let pending = [];
    const flush = () => {
      if (!pending.length || gone) return;
      for (const a of pending) byId.set(a.id, a);
      pending = [];
      const sorted = [...byId.values()].sort((a, b) => b.id - a.id).slice(0, FEED_MAX);
      byId.clear();
      for (const a of sorted) byId.set(a.id, a);
      setItems(sorted);
    };
    // Subscribe first, then load the recent ones: duplicates merge by id, none is missed.
    const stop = followActions(id, { onAction: (a) => pending.push(a), onState: setState });
    const timer = setInterval(flush, 200);
    // The latest actions, newest first, in one page.
    (async () => {
      const page = await recentActions(id, FEED_MAX);
      pending.push(...page.items);
      flush();
    })().catch((e) => !gone && setError(e));
    return () => {
      gone = true;
      clearInterval(timer);
      stop();
    };
  }, [id]);
  return [items, state, error];
}

/** The feed; `onModels(models)` hears the model versions of the latest action ({} when none). */
export function ActionFeed({ id, processor, onModels }) {
  const [items, state, error] = useActionFeed(id);
  const latest = JSON.stringify(items[0]?.models || {});
  useEffect(() => {
    if (onModels) onModels(JSON.parse(latest));
  }, [latest]);
  const [paused, setPaused] = useState(null);
  const [filter, setFilter] = useState("");
  const shown = paused || items;
  const fresh = paused ? items.filter((a) => a.id > (paused[0]?.id ?? -1)).length : 0;
  const needle = filter.trim().toLowerCase();
  const visible = needle
    ? shown.filter((a) =>
        (a.text + " " + JSON.stringify(a.data) + " " + Object.keys(a.models || {}).join(" ")).toLowerCase().includes(needle),
      )
    : shown;
  const live = processor.status === "running" || processor.status === "starting";
  return (
    <div class="panel">
      <div class="panel-head">
        <div class="row">
          <h2>Actions</h2>
          {state === "live" ? (
            <span class={"feed-state" + (live ? " on" : "")} title="New actions arrive as they are recorded">
              <span class="live-dot" /> {live ? "Live" : "Connected"}
            </span>
          ) : (
            <span class="feed-state warn">{state === "connecting" ? "Connecting…" : "Reconnecting…"}</span>
          )}
        </div>
        <div class="row">
          <input
            type="search"
            class="feed-filter"
            aria-label="Filter actions"
            placeholder="Filter…"
            value={filter}
            onInput={(e) => setFilter(e.target.value)}
          />
          <Button small onClick={() => setPaused(paused ? null : items)} aria-pressed={!!paused}>
            {paused ? `Resume${fresh ? ` (${fresh} new)` : ""}` : "Pause"}
          </Button>
        </div>
      </div>
      <ErrorBox error={error} />
      {visible.length === 0 ? (
        <Empty>
          {needle
            ? "No action matches the filter."
            : live
              ? "No actions yet: they appear here as the handler calls sdk.action(text, **data)."
              : "No actions in the last quarter hour of this processor."}
        </Empty>
      ) : (
        <ol class="feed" aria-label="Actions, newest first">
          {visible.map((a) => (
            <ActionItem key={a.id} action={a} />
          ))}
        </ol>
      )}
      {shown.length >= FEED_MAX && (
        <div class="feed-foot muted small">
          Showing the latest {FEED_MAX}. The full list is at GET /api/v1/actions?processor={id}.
        </div>
      )}
    </div>
  );
}

/** One action in a feed: when, its text, the model versions it was made with, its data. */
export function ActionItem({ action: a }) {
  return (
    <li class="feed-item">
      <time class="feed-time" datetime={a.created_at} title={datetime(a.created_at)}>
        {clock(a.created_at)}
      </time>
      <div class="feed-body">
        <div class="feed-text">
          {a.text} <ModelChips models={a.models} label="Made with" />
        </div>
        <KeyValues data={a.data} sep=":" max={80} />
      </div>
    </li>
  );
}
