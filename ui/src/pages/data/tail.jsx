// A stream's page: the live tail of its messages, a test message to send, its definition and its processors.
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { listNotebooks } from "../../api/notebooks.js";
import { listProcessors } from "../../api/processors.js";
import { deleteStream, getStream, sendMessage, streamTail } from "../../api/streams.js";
import { datetime, number } from "../../format.js";
import { Link, navigate } from "../../router.jsx";
import { Badge, Button, Field } from "../../components/controls.jsx";
import { Confirm } from "../../components/modal.jsx";
import { Empty, ErrorBox, Loading, Page } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { usePoll } from "../../poll.js";
import { objectHref } from "./names.js";
import { Crumbs } from "./nav.jsx";
import { Source, TypeChip } from "./streams.jsx";

export function StreamView({ name }) {
  const [s, error] = usePoll(() => getStream(name), 0, [name]);
  const [confirm, setConfirm] = useState(false);
  const [sent, setSent] = useState(0);
  const crumbs = (
    <Crumbs
      items={[
        ["/data", "Data"],
        ["/data/streams", "Streams"],
        [null, name],
      ]}
    />
  );
  if (!s) {
    return (
      <>
        {crumbs}
        <Page title={name} wide>
          <ErrorBox error={error} />
          {error ? (
            <p>
              <Link href="/data/streams">Back to the streams</Link>
            </p>
          ) : (
            <Loading />
          )}
        </Page>
      </>
    );
  }
  return (
    <>
      {crumbs}
      <Page
        title={name}
        wide
        subtitle={
          <span class="data-subtitle">
            <TypeChip type={s.type} /> <Source s={s} />
          </span>
        }
        actions={
          <Button kind="danger" onClick={() => setConfirm(true)}>
            Delete
          </Button>
        }
      >
        <div class="data-split">
          <div class="data-main">
            <LiveTail name={name} sent={sent} />
          </div>
          <aside class="data-side">
            <SendMessage name={name} onSent={() => setSent((n) => n + 1)} />
            <StreamDetails s={s} />
            <Processors name={name} />
          </aside>
        </div>
        {confirm && (
          <Confirm
            title={`Delete stream ${name}?`}
            message="Its definition goes; the broker and the replayed object are not touched. A stream that a processor is running on cannot be deleted."
            onClose={() => setConfirm(false)}
            onConfirm={async () => {
              await deleteStream(name);
              toast(`Deleted stream ${name}`);
              navigate("/data/streams");
            }}
          />
        )}
      </Page>
    </>
  );
}

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

function LiveTail({ name, sent }) {
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

function SendMessage({ name, onSent }) {
  const [body, setBody] = useState('{"hello": "world"}');
  const [format, setFormat] = useState("json");
  const [headers, setHeaders] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const send = async (e) => {
    if (e) e.preventDefault();
    setError(null);
    if (format === "json") {
      try {
        JSON.parse(body);
      } catch (x) {
        return setError(`Not valid JSON: ${x.message}. Choose “Text” to send it as it is.`);
      }
    }
    const pairs = headers
      .split(/[,\n]/)
      .map((h) => h.trim())
      .filter(Boolean);
    const bad = pairs.find((h) => !/^[^=\s]+=/.test(h));
    if (bad) return setError(`Header “${bad}” is not key=value.`);
    setBusy(true);
    try {
      await sendMessage(name, { body, contentType: format === "json" ? "application/json" : "text/plain", headers: pairs });
      toast("Test message sent");
      onSent();
    } catch (x) {
      setError(x);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel" aria-label="Send a test message">
      <header class="panel-head">
        <h2>Send a test message</h2>
      </header>
      <form class="panel-pad data-form" onSubmit={send}>
        <Field label="Body" hint="Ctrl+Enter sends">
          <textarea
            rows={5}
            value={body}
            spellcheck={false}
            onInput={(e) => setBody(e.target.value)}
            onKeyDown={(e) => (e.ctrlKey || e.metaKey) && e.key === "Enter" && send(e)}
          />
        </Field>
        <div class="data-form-row">
          <Field label="Format">
            <select aria-label="Format" value={format} onChange={(e) => setFormat(e.target.value)}>
              <option value="json">JSON</option>
              <option value="text">Text</option>
            </select>
          </Field>
          <Field label="Headers" hint="key=value, comma separated">
            <input value={headers} onInput={(e) => setHeaders(e.target.value)} placeholder="source=ui" spellcheck={false} />
          </Field>
        </div>
        <ErrorBox error={error} />
        <Button kind="primary" type="submit" busy={busy}>
          Send test message
        </Button>
      </form>
    </section>
  );
}

function StreamDetails({ s }) {
  const rows = [
    ["Type", <TypeChip type={s.type} />],
    ["URI", s.uri && <code class="data-uri">{s.uri}</code>],
    ["Queue", s.queue && <code>{s.queue}</code>],
    ["Exchange", s.exchange && <code>{s.exchange}</code>],
    ["Routing key", s.routing_key && <code>{s.routing_key}</code>],
    ["Topic", s.topic && <code>{s.topic}</code>],
    ["Object", s.object && <Link href={objectHref(s.object)}>{s.object}</Link>],
    ["Rate", s.type === "replay" && `${number(s.rate)} messages/s`],
    ["Loop", s.type === "replay" && (s.loop ? "yes, starts again at the end" : "no, stops at the end")],
    ["Created", datetime(s.created_at)],
    ["Id", <code class="muted">{s.id}</code>],
  ].filter(([, v]) => v);
  return (
    <section class="panel" aria-label="Definition">
      <header class="panel-head">
        <h2>Definition</h2>
      </header>
      <dl class="data-props">
        {rows.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
      </dl>
    </section>
  );
}

function Processors({ name }) {
  const names = useRef(null);
  const [list, error] = usePoll(
    async () => {
      const page = await listProcessors({ stream: name, limit: 50 });
      const unknown = page.items.some((p) => !names.current || !names.current.has(p.notebook_id));
      if (unknown) names.current = new Map((await listNotebooks()).map((n) => [n.id, n.name]));
      return page.items;
    },
    5000,
    [name],
  );
  return (
    <section class="panel" aria-label="Processors">
      <header class="panel-head">
        <h2>Processors</h2>
      </header>
      <ErrorBox error={error} />
      {list === undefined ? (
        !error && <Loading />
      ) : list.length === 0 ? (
        <p class="panel-pad muted data-inline-note">
          No processor reads this stream. Deploy a processing notebook on it from <Link href="/processing">Processing</Link>.
        </p>
      ) : (
        <ul class="data-proc-list">
          {list.map((p) => (
            <li>
              <Link href={`/processing/${p.id}`}>
                {(names.current && names.current.get(p.notebook_id)) || `processor ${p.id.slice(0, 8)}`}
              </Link>
              <Badge status={p.status} />
              <span class="muted">
                {number(p.processed)} processed · {p.throughput.toFixed(1)} msg/s
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
