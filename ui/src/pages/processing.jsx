// Processing: processors (processing notebooks bound to streams), deployed from a dialog and
// followed live: counters, throughput, the actions they record, their dead letters and logs.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { API, all, del, get, post } from "../api.js";
import { ago, datetime, number } from "../format.js";
import { Ansi } from "../outputs.jsx";
import { Link, match, navigate } from "../router.jsx";
import { Badge, Button, Confirm, Empty, ErrorBox, Field, Loading, Modal, Page, Sparkline, Tabs, toast, usePoll } from "../ui.jsx";
import { KeyValues, shortId, useNotebooks } from "./runs.jsx";
import "./processing.css";

const FEED_MAX = 300;

function rate(v) {
  if (v === null || v === undefined) return "–";
  return v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1);
}

function ms(v) {
  if (v === null || v === undefined) return "–";
  return v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
}

function timespan(history) {
  if (history.length < 2) return "moments";
  const s = history[history.length - 1][0] - history[0][0];
  return s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;
}

function clock(when) {
  return new Date(when).toLocaleTimeString("en-GB");
}

function describeStream(s) {
  if (!s) return "";
  if (s.type === "replay") return `replay of ${s.object} at ${s.rate ?? 10}/s${s.loop ? ", looping" : ""}`;
  if (s.type === "amqp") return `AMQP ${s.queue ? "queue " + s.queue : "exchange " + s.exchange}`;
  if (s.type === "mqtt") return `MQTT ${s.topic || ""}`;
  return s.type;
}

// ---------------------------------------------------------------------------------------------
// Deploy dialog.

function IntField({ label, hint, value, onChange, min, max, unit }) {
  return (
    <Field label={label} hint={hint}>
      <span class="unit-input">
        <input type="number" min={min} max={max} step="1" value={value} onInput={(e) => onChange(e.target.value)} required />
        {unit && <span class="unit">{unit}</span>}
      </span>
    </Field>
  );
}

function DeployDialog({ onClose }) {
  const [choices, setChoices] = useState(undefined);
  const [loadError, setLoadError] = useState(null);
  const [form, setForm] = useState({
    notebook_id: "",
    stream: "",
    batch_size: "100",
    batch_wait_ms: "20",
    max_retries: "3",
    replicas: "1",
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const firstRef = useRef();
  useEffect(() => {
    Promise.all([all("/notebooks", { kind: "processing" }), all("/streams")]).then(([notebooks, streams]) => {
      setChoices({ notebooks, streams });
      setForm((f) => ({
        ...f,
        notebook_id: notebooks.length === 1 ? notebooks[0].id : f.notebook_id,
        stream: streams.length === 1 ? streams[0].name : f.stream,
      }));
    }, setLoadError);
  }, []);
  useEffect(() => {
    if (choices && firstRef.current) firstRef.current.focus();
  }, [choices]);
  const stream = choices?.streams.find((s) => s.name === form.stream);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (!form.notebook_id) return setError("Choose the processing notebook to deploy.");
    if (!form.stream) return setError("Choose the stream it reads.");
    const body = { notebook_id: form.notebook_id, stream: form.stream };
    for (const k of ["batch_size", "batch_wait_ms", "max_retries", "replicas"]) {
      const n = Number(form[k]);
      if (form[k] === "" || !Number.isInteger(n)) return setError(`${k.replace(/_/g, " ")} must be a whole number.`);
      body[k] = n;
    }
    setBusy(true);
    try {
      const p = await post("/processors", body);
      toast("Processor deployed: starting");
      onClose();
      navigate(`/processing/${p.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Deploy processor"
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="deploy-form" busy={busy} disabled={!choices}>
            Deploy
          </Button>
        </>
      }
    >
      <ErrorBox error={loadError} />
      {!choices ? (
        !loadError && <Loading />
      ) : (
        <form id="deploy-form" onSubmit={submit} noValidate>
          <p class="muted deploy-intro">
            The notebook's cells run once on an execution node, then its <code>on_message(msg)</code> (or <code>on_batch(msgs)</code>)
            handles every message of the stream until you stop it.
          </p>
          <div class="grid-2">
            <Field
              label="Processing notebook"
              hint={
                choices.notebooks.length === 0 ? (
                  <>
                    None yet: create a notebook of kind “processing” on the <Link href="/notebooks">Notebooks</Link> page.
                  </>
                ) : (
                  "Deployed at its current revision."
                )
              }
            >
              <select ref={firstRef} value={form.notebook_id} onChange={(e) => set("notebook_id")(e.target.value)}>
                <option value="" disabled>
                  Choose a notebook…
                </option>
                {choices.notebooks.map((n) => (
                  <option value={n.id}>
                    {n.name} (rev {n.revision})
                  </option>
                ))}
              </select>
            </Field>
            <Field
              label="Stream"
              hint={
                choices.streams.length === 0 ? (
                  <>
                    None yet: define one on the <Link href="/data">Data</Link> page.
                  </>
                ) : (
                  describeStream(stream) || "Where the messages come from."
                )
              }
            >
              <select value={form.stream} onChange={(e) => set("stream")(e.target.value)}>
                <option value="" disabled>
                  Choose a stream…
                </option>
                {choices.streams.map((s) => (
                  <option value={s.name}>
                    {s.name} ({s.type})
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <h3 class="deploy-section">Delivery</h3>
          <div class="grid-4">
            <IntField
              label="Batch size"
              hint="Most messages per on_batch call."
              min={1}
              max={10000}
              value={form.batch_size}
              onChange={set("batch_size")}
            />
            <IntField
              label="Batch wait"
              hint="Time to fill a batch."
              min={0}
              max={60000}
              unit="ms"
              value={form.batch_wait_ms}
              onChange={set("batch_wait_ms")}
            />
            <IntField
              label="Max retries"
              hint="Then dead-lettered."
              min={0}
              max={100}
              value={form.max_retries}
              onChange={set("max_retries")}
            />
            <IntField
              label="Replicas"
              hint="Instances sharing the load."
              min={1}
              max={64}
              value={form.replicas}
              onChange={set("replicas")}
            />
          </div>
          <ErrorBox error={error} />
        </form>
      )}
    </Modal>
  );
}

// ---------------------------------------------------------------------------------------------
// The list.

function ProcessorList() {
  const [page, error] = usePoll(() => get("/processors", { limit: 200 }), 1000);
  const [, names] = useNotebooks();
  const [deploying, setDeploying] = useState(false);
  const items = page?.items || [];
  const running = items.filter((p) => p.status === "running");
  const failed = items.filter((p) => p.status === "failed").length;
  const total = running.reduce((a, p) => a + (p.throughput || 0), 0);
  return (
    <Page
      title="Processing"
      subtitle={
        page && items.length
          ? `${running.length} running${failed ? ` · ${failed} failed` : ""} · ${rate(total)} messages/s in all`
          : "Processing notebooks running on live streams, recording actions."
      }
      actions={
        <Button kind="primary" onClick={() => setDeploying(true)}>
          + Deploy processor
        </Button>
      }
      wide
    >
      <ErrorBox error={error} />
      {page === undefined ? (
        !error && <Loading />
      ) : items.length === 0 ? (
        <div class="panel">
          <Empty>
            No processors yet.{" "}
            <button class="linkish" onClick={() => setDeploying(true)}>
              Deploy a processing notebook
            </button>{" "}
            on a stream: it handles each message and records actions.
          </Empty>
        </div>
      ) : (
        <div class="panel">
          <table class="table proc-table">
            <thead>
              <tr>
                <th>Processor</th>
                <th>Stream</th>
                <th>Status</th>
                <th class="num">Received</th>
                <th class="num">Processed</th>
                <th class="num">Failed</th>
                <th class="num">Dead letters</th>
                <th class="num">Lag</th>
                <th>Throughput</th>
                <th>Started</th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr
                  key={p.id}
                  class={"clickable" + (p.status === "stopped" ? " proc-stopped" : "")}
                  onClick={(e) => e.target.closest("a") || navigate(`/processing/${p.id}`)}
                >
                  <td>
                    <Link href={`/processing/${p.id}`} class="proc-name">
                      {names[p.notebook_id] || p.notebook_id}
                    </Link>
                    <div class="muted small">
                      <span class="mono">{shortId(p.id)}</span> · rev {p.notebook_revision}
                      {p.replicas > 1 ? ` · ${p.replicas} replicas` : ""}
                    </div>
                  </td>
                  <td>{p.stream}</td>
                  <td>
                    <Badge status={p.status} />
                  </td>
                  <td class="num">{number(p.received)}</td>
                  <td class="num">{number(p.processed)}</td>
                  <td class={"num" + (p.failed ? " is-bad" : "")}>{number(p.failed)}</td>
                  <td class={"num" + (p.dead_lettered ? " is-bad" : "")}>{number(p.dead_lettered)}</td>
                  <td class="num">{number(p.lag)}</td>
                  <td>
                    <div class="proc-tput">
                      <Sparkline
                        values={p.throughput_history.map((h) => h[1])}
                        width={96}
                        height={24}
                        label={`Throughput of ${names[p.notebook_id] || p.id}`}
                      />
                      <span class="num">{p.status === "running" ? rate(p.throughput) : "–"}</span>
                      <span class="muted small">/s</span>
                    </div>
                  </td>
                  <td title={datetime(p.started_at || p.created_at)}>{ago(p.started_at || p.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deploying && <DeployDialog onClose={() => setDeploying(false)} />}
    </Page>
  );
}

// ---------------------------------------------------------------------------------------------
// One processor.

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
    const source = new EventSource(`${API}/actions/feed?processor=${encodeURIComponent(id)}`);
    source.addEventListener("action", (e) => {
      try {
        pending.push(JSON.parse(e.data));
      } catch {
        /* not an action */
      }
    });
    source.onopen = () => setState("live");
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    const timer = setInterval(flush, 200);
    // The latest actions, newest first, in one page.
    (async () => {
      const page = await get("/actions", { processor: id, newest_first: true, limit: FEED_MAX });
      pending.push(...page.items);
      flush();
    })().catch((e) => !gone && setError(e));
    return () => {
      gone = true;
      clearInterval(timer);
      source.close();
    };
  }, [id]);
  return [items, state, error];
}

function ActionFeed({ id, processor }) {
  const [items, state, error] = useActionFeed(id);
  const [paused, setPaused] = useState(null);
  const [filter, setFilter] = useState("");
  const shown = paused || items;
  const fresh = paused ? items.filter((a) => a.id > (paused[0]?.id ?? -1)).length : 0;
  const needle = filter.trim().toLowerCase();
  const visible = needle ? shown.filter((a) => (a.text + " " + JSON.stringify(a.data)).toLowerCase().includes(needle)) : shown;
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
            <li key={a.id} class="feed-item">
              <time class="feed-time" datetime={a.created_at} title={datetime(a.created_at)}>
                {clock(a.created_at)}
              </time>
              <div class="feed-body">
                <div class="feed-text">{a.text}</div>
                <KeyValues data={a.data} sep=":" max={80} />
              </div>
            </li>
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

function DeadLetters({ processor, page, error, reload }) {
  const id = processor.id;
  const [open, setOpen] = useState(() => new Set());
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [replayError, setReplayError] = useState(null);
  const items = page?.items || [];
  const waiting = items.filter((d) => d.status !== "replayed").length;
  const toggle = (k) => {
    const s = new Set(open);
    s.has(k) ? s.delete(k) : s.add(k);
    setOpen(s);
  };
  const replay = async () => {
    setBusy(true);
    setReplayError(null);
    setResult(null);
    try {
      const r = await post(`/processors/${id}/dead-letters/replay`);
      setResult({ count: r.replaying, at: new Date() });
      reload();
    } catch (e) {
      setReplayError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="panel">
      <div class="panel-head">
        <div>
          <h2>Dead letters</h2>
          <p class="muted small flat">Messages whose handler kept failing. Fix the notebook, restart the processor, then replay them.</p>
        </div>
        <Button
          kind="primary"
          busy={busy}
          disabled={!waiting || processor.status !== "running"}
          onClick={replay}
          title={processor.status !== "running" ? "The processor must be running" : undefined}
        >
          ↻ Replay dead letters
        </Button>
      </div>
      {result && (
        <div class="replay-result" role="status">
          {result.count === 0
            ? "Nothing to replay."
            : `${result.count} dead letter${result.count === 1 ? "" : "s"} handed back to the processor at ${clock(result.at)}: each is marked replayed once its handler returns, or stays dead with the new error.`}
          <button class="icon-btn" aria-label="Dismiss" onClick={() => setResult(null)}>
            ×
          </button>
        </div>
      )}
      <ErrorBox error={replayError} onClose={() => setReplayError(null)} />
      <ErrorBox error={error} />
      {page === undefined ? (
        !error && <Loading />
      ) : items.length === 0 ? (
        <Empty>No dead letters: every message was handled{processor.max_retries ? ` within ${processor.max_retries} retries` : ""}.</Empty>
      ) : (
        <table class="table dl-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Message</th>
              <th>Error</th>
              <th class="num">Attempts</th>
              <th class="num">Revision</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((d) => {
              const body = d.body ?? (d.body_b64 ? `(binary) ${d.body_b64}` : "");
              const expanded = open.has(d.id);
              return [
                <tr key={d.id} class={expanded ? "dl-open" : ""}>
                  <td title={datetime(d.created_at)} class="nowrap">
                    {clock(d.created_at)}
                    <div class="muted small">{ago(d.created_at)}</div>
                  </td>
                  <td>
                    <code class="dl-body" title={body}>
                      {body.length > 140 ? body.slice(0, 139) + "…" : body}
                    </code>
                  </td>
                  <td class="dl-error">{d.error}</td>
                  <td class="num">{d.attempts}</td>
                  <td class="num">{d.notebook_revision}</td>
                  <td>
                    <Badge status={d.status} />
                  </td>
                  <td class="num">
                    <Button small kind="ghost" aria-expanded={expanded} onClick={() => toggle(d.id)}>
                      {expanded ? "Hide" : "Traceback"}
                    </Button>
                  </td>
                </tr>,
                expanded && (
                  <tr key={d.id + "-tb"} class="dl-detail">
                    <td colSpan={7}>
                      <Ansi class="traceback dl-traceback" text={d.traceback || d.error} />
                      {Object.keys(d.headers || {}).length > 0 && (
                        <div class="dl-headers">
                          <span class="muted small">Headers </span>
                          <KeyValues data={d.headers} sep=":" />
                        </div>
                      )}
                      <div class="muted small">
                        Message id <span class="mono">{d.message_id}</span>
                        {d.replayed_at && <> · replayed {ago(d.replayed_at)}</>}
                      </div>
                    </td>
                  </tr>
                ),
              ];
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Logs({ lines }) {
  const ref = useRef();
  const stick = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <div class="panel">
      <div class="panel-head">
        <h2>Logs</h2>
        <span class="muted small">What the notebook printed: the latest {lines.length} lines</span>
      </div>
      {lines.length === 0 ? (
        <Empty>Nothing printed yet.</Empty>
      ) : (
        <pre
          class="proc-logs"
          ref={ref}
          tabIndex={0}
          onScroll={(e) => (stick.current = e.target.scrollTop + e.target.clientHeight >= e.target.scrollHeight - 8)}
        >
          {lines.join("\n")}
        </pre>
      )}
    </div>
  );
}

function Metric({ label, value, hint, tone }) {
  return (
    <div class={"metric" + (tone ? " metric-" + tone : "")} role="group" aria-label={label} title={hint}>
      <div class="metric-label">{label}</div>
      <div class="metric-value">{value}</div>
    </div>
  );
}

function Failure({ error }) {
  return (
    <div class="proc-failure" role="alert">
      <div class="proc-failure-head">
        <strong>{error.ename || "Error"}</strong>
        {error.evalue ? `: ${error.evalue}` : ""}
        {error.cell !== null && error.cell !== undefined && <span class="muted"> — while running setup cell {error.cell + 1}</span>}
      </div>
      {error.traceback && <Ansi class="traceback proc-traceback" text={error.traceback} />}
      <p class="muted small flat">Fix the notebook, then Restart: the processor takes the notebook's current revision.</p>
    </div>
  );
}

function ProcessorView({ id }) {
  const [p, error, reload] = usePoll(() => get(`/processors/${encodeURIComponent(id)}`), 1000, [id]);
  const [, names] = useNotebooks();
  const [tab, setTab] = useState("actions");
  const [stopping, setStopping] = useState(false);
  const [restarting, setRestarting] = useState(false);
  const [actError, setActError] = useState(null);
  const history = useMemo(() => (p ? p.throughput_history.map((h) => h[1]) : []), [p]);
  // Dead letters: polled once there are any, so that the tab can say how many wait.
  const hasLetters = !!p?.dead_lettered;
  const [letters, lettersError, reloadLetters] = usePoll(
    () => (hasLetters ? get(`/processors/${encodeURIComponent(id)}/dead-letters`, { limit: 200 }) : { items: [], next: null }),
    2000,
    [id, hasLetters],
  );
  const waiting = letters ? letters.items.filter((d) => d.status !== "replayed").length : 0;
  if (!p) {
    return (
      <Page title="Processor">
        <ErrorBox error={error} />
        {!error && <Loading />}
      </Page>
    );
  }
  const name = names[p.notebook_id] || p.notebook_id;
  const alive = p.status === "running" || p.status === "starting";
  const restart = async () => {
    setRestarting(true);
    setActError(null);
    try {
      await post(`/processors/${p.id}/restart`);
      toast("Restarting on the notebook's current revision");
      reload();
    } catch (e) {
      setActError(e);
    } finally {
      setRestarting(false);
    }
  };
  const peak = Math.max(0, ...history);
  return (
    <Page
      title={name}
      wide
      subtitle={
        <span class="run-sub">
          <Badge status={p.status} />
          <span>
            <Link href="/processing">Processing</Link> › on stream <strong>{p.stream}</strong> · revision {p.notebook_revision} ·{" "}
            {p.status === "stopped"
              ? `stopped ${ago(p.stopped_at)}`
              : p.started_at
                ? `started ${ago(p.started_at)}`
                : `deployed ${ago(p.created_at)}`}
          </span>
        </span>
      }
      actions={
        <>
          <Link class="btn btn-ghost" href={`/notebooks/${p.notebook_id}`}>
            Open notebook
          </Link>
          <Button busy={restarting} onClick={restart}>
            ↻ Restart
          </Button>
          {p.status !== "stopped" && (
            <Button kind="danger" onClick={() => setStopping(true)}>
              ■ Stop
            </Button>
          )}
        </>
      }
    >
      <ErrorBox error={error} />
      <ErrorBox error={actError} onClose={() => setActError(null)} />
      {p.status === "failed" && p.error && <Failure error={p.error} />}
      {p.status === "starting" && (
        <div class="proc-starting" role="status">
          <span class="spinner" /> Starting: the notebook's cells run on an execution node, then the stream connects.
        </div>
      )}
      <div class="proc-metrics">
        <div class="panel metric-tput" role="group" aria-label="Throughput">
          <div class="metric-label">Throughput</div>
          <div class="tput-row">
            <div class="metric-value big">
              {alive ? rate(p.throughput) : "–"}
              <span class="metric-unit">msg/s</span>
            </div>
            <Sparkline values={history} width={260} height={48} label="Recent throughput" />
          </div>
          <div class="muted small">
            {history.length < 2
              ? "sampling…"
              : peak > 0
                ? `peak ${rate(peak)}/s in the last ${timespan(p.throughput_history)}`
                : "no messages lately"}
          </div>
        </div>
        <div class="panel metric-grid">
          <Metric label="Received" value={number(p.received)} hint="Messages taken from the stream (redeliveries too)" />
          <Metric label="Processed" value={number(p.processed)} hint="Messages whose handler returned" tone="ok" />
          <Metric
            label="Failed"
            value={number(p.failed)}
            hint="Handler calls that raised (each retry counts)"
            tone={p.failed ? "bad" : null}
          />
          <Metric
            label="Dead-lettered"
            value={number(p.dead_lettered)}
            hint="Times a message was given up after its retries (a replayed letter that fails again counts again); the Dead letters tab lists the letters waiting"
            tone={p.dead_lettered ? "bad" : null}
          />
          <Metric label="Redelivered" value={number(p.redelivered)} hint="Messages the broker delivered again" />
          <Metric label="Lag" value={number(p.lag)} hint="Messages waiting: queue depth, or replay records due" />
          <Metric label="Latency" value={ms(p.latency_ms)} hint="Median publish-to-handled time, last batch" />
          <Metric label="Restarts" value={number(p.restarts)} hint="Instances started again after losing their node" />
        </div>
      </div>
      <dl class="proc-facts">
        <div>
          <dt>Nodes</dt>
          <dd>{p.nodes.length ? p.nodes.map((n) => <code class="node">{n}</code>) : <span class="muted">none</span>}</dd>
        </div>
        <div>
          <dt>Batches</dt>
          <dd>
            up to {number(p.batch_size)} in {p.batch_wait_ms} ms
          </dd>
        </div>
        <div>
          <dt>Retries</dt>
          <dd>{p.max_retries}</dd>
        </div>
        <div>
          <dt>Replicas</dt>
          <dd>{p.replicas}</dd>
        </div>
        <div>
          <dt>Position</dt>
          <dd title="Replay: index of the first record not yet handled">{number(p.position)}</dd>
        </div>
        <div>
          <dt>Id</dt>
          <dd class="mono">{p.id}</dd>
        </div>
      </dl>
      <Tabs
        tabs={[
          ["actions", "Live actions"],
          ["dead", `Dead letters${waiting ? ` (${number(waiting)}${letters.next ? "+" : ""})` : ""}`],
          ["logs", `Logs${p.logs.length ? ` (${p.logs.length})` : ""}`],
        ]}
        current={tab}
        onChange={setTab}
      />
      {/* The feed stays mounted on other tabs so that it keeps collecting. */}
      <div hidden={tab !== "actions"}>
        <ActionFeed id={p.id} processor={p} />
      </div>
      {tab === "dead" && <DeadLetters processor={p} page={letters} error={lettersError} reload={reloadLetters} />}
      {tab === "logs" && <Logs lines={p.logs} />}
      {stopping && (
        <Confirm
          title="Stop this processor?"
          message={`${name} stops taking messages from ${p.stream}. Its counters, actions and dead letters stay; Restart brings it back.`}
          confirmLabel="Stop processor"
          onConfirm={async () => {
            await del(`/processors/${p.id}`);
            toast("Processor stopped");
            reload();
          }}
          onClose={() => setStopping(false)}
        />
      )}
    </Page>
  );
}

export function ProcessingPage({ path }) {
  const m = match("/processing/:id", path);
  if (m) return <ProcessorView key={m.id} id={m.id} />;
  return <ProcessorList />;
}
