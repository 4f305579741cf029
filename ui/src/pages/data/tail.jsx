// A stream's live tail: the last messages seen, newest first, refreshed every second (or paused).
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { streamTail } from "../../api/streams.js";
import { Button } from "../../components/controls.jsx";
import { Empty, ErrorBox, Loading } from "../../components/page.jsx";
import { datetime, number } from "../../format.js";
import { usePoll } from "../../poll.js";

function clock(epochSeconds) {
  const d = new Date(epochSeconds * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function parseBody(m) {
  if (m.encoding === "base64") return { kind: "binary" };
  try {
    return { kind: "json", value: JSON.parse(m.body) };
  } catch {
    return { kind: "text" };
  }
}

/** A JSON value on one line, coloured by kind. */
function Json({ v, depth = 0 }) {
  if (v === null) return <span class="data-j-lit">null</span>;
  if (typeof v === "string") return <span class="data-j-str">{JSON.stringify(v)}</span>;
  if (typeof v === "number" || typeof v === "boolean")
    return <span class={typeof v === "number" ? "data-j-num" : "data-j-lit"}>{String(v)}</span>;
  if (depth > 6) return <span class="muted">…</span>;
  if (Array.isArray(v)) {
    return (
      <span>
        [
        {v.map((x, i) => (
          <>
            {i > 0 && ", "}
            <Json v={x} depth={depth + 1} />
          </>
        ))}
        ]
      </span>
    );
  }
  const keys = Object.keys(v);
  return (
    <span>
      {"{"}
      {keys.map((k, i) => (
        <>
          {i > 0 && ", "}
          <span class="data-j-key">{JSON.stringify(k)}</span>: <Json v={v[k]} depth={depth + 1} />
        </>
      ))}
      {"}"}
    </span>
  );
}

export function LiveTail({ name, sent }) {
  const paused = useRef(false);
  const last = useRef();
  const force = useRef(false);
  const [isPaused, setPaused] = useState(false);
  const [open, setOpen] = useState(null);
  const [tail, error, reload] = usePoll(
    async () => {
      if (paused.current && !force.current && last.current) return last.current;
      force.current = false;
      last.current = await streamTail(name, 100);
      return last.current;
    },
    1000,
    [name],
  );
  useEffect(() => {
    if (sent) {
      force.current = true;
      reload();
    }
  }, [sent]);
  // When each message was first shown, to highlight the new ones for a moment.
  const firstSeen = useRef(null);
  const now = Date.now();
  const items = tail ? [...tail.items].reverse() : [];
  if (tail) {
    const initial = firstSeen.current === null;
    if (initial) firstSeen.current = new Map();
    for (const m of items) if (!firstSeen.current.has(m.id)) firstSeen.current.set(m.id, initial ? 0 : now);
  }
  const toggle = () => {
    paused.current = !paused.current;
    setPaused(paused.current);
    if (!paused.current) reload();
  };
  return (
    <section class="panel data-tail" aria-label="Live tail">
      <header class="panel-head">
        <h2>
          Messages <span class="data-count">{tail ? number(items.length) : ""}</span>
          <span class="data-tail-order">newest first</span>
        </h2>
        <div class="row">
          {isPaused ? (
            <span class="data-live data-live-paused">Paused</span>
          ) : (
            <span class="data-live" title="Refreshes every second">
              <span class="data-live-dot" aria-hidden="true" /> Live
            </span>
          )}
          <Button small onClick={toggle} aria-pressed={isPaused}>
            {isPaused ? "Resume" : "Pause"}
          </Button>
        </div>
      </header>
      <ErrorBox error={error} />
      {!tail ? (
        !error && <Loading />
      ) : items.length === 0 ? (
        <Empty>No messages seen yet. They appear here as a processor reads the stream, or when you send a test message.</Empty>
      ) : (
        <div class="table-scroll data-tail-scroll">
          <table class="table data-tail-table">
            <thead>
              <tr>
                <th class="data-tail-time">Time</th>
                <th>Body</th>
                <th class="data-tail-headers">Headers</th>
              </tr>
            </thead>
            <tbody>
              {items.map((m) => {
                const body = parseBody(m);
                const fresh = now - (firstSeen.current.get(m.id) || 0) < 2000;
                const expanded = open === m.id;
                return (
                  <Fragment key={m.id}>
                    <tr class={(fresh ? "data-tail-new " : "") + (expanded ? "data-tail-open" : "")}>
                      <td class="data-tail-time" title={datetime(m.at * 1000)}>
                        {clock(m.at)}
                      </td>
                      <td class="data-tail-body">
                        <button
                          class="data-tail-toggle"
                          aria-expanded={expanded}
                          aria-label={expanded ? "Collapse message" : "Expand message"}
                          onClick={() => setOpen(expanded ? null : m.id)}
                        >
                          {expanded ? "▾" : "▸"}
                        </button>
                        <span class="data-tail-text">
                          {body.kind === "json" ? (
                            <Json v={body.value} />
                          ) : body.kind === "text" ? (
                            m.body
                          ) : (
                            <span class="muted">
                              binary, {number(Math.floor((m.body.length * 3) / 4))} bytes (base64 {m.body.slice(0, 40)}…)
                            </span>
                          )}
                        </span>
                      </td>
                      <td class="data-tail-headers">
                        {Object.entries(m.headers || {}).map(([k, v]) => (
                          <span class="data-tag">
                            {k}={typeof v === "string" ? v : JSON.stringify(v)}
                          </span>
                        ))}
                      </td>
                    </tr>
                    {expanded && (
                      <tr class="data-tail-detail">
                        <td />
                        <td colSpan={2}>
                          <pre>{body.kind === "json" ? JSON.stringify(body.value, null, 2) : m.body}</pre>
                          <span class="muted">
                            id {m.id} · {m.encoding} · {datetime(m.at * 1000)}
                          </span>
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
