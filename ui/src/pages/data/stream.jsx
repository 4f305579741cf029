// A stream's page: the live tail of its messages, a test message to send, its definition and its processors.
import { useRef, useState } from "preact/hooks";
import { listNotebooks } from "../../api/notebooks.js";
import { listProcessors } from "../../api/processors.js";
import { deleteStream, getStream, sendMessage } from "../../api/streams.js";
import { Badge, Button, Field } from "../../components/controls.jsx";
import { Confirm } from "../../components/modal.jsx";
import { ErrorBox, Loading, Page } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { datetime, number } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link, navigate } from "../../router.jsx";
import { objectHref } from "./names.js";
import { Crumbs } from "./nav.jsx";
import { Source, TypeChip } from "./streams.jsx";
import { LiveTail } from "./tail.jsx";

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
        <Page title={name}>
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
