// Streams: the list and the new-stream dialog, with the type chip and source line the stream page shares.
import { useState } from "preact/hooks";
import { listObjects } from "../../api/objects.js";
import { createStream, listStreams } from "../../api/streams.js";
import { ago, bytes, datetime, number } from "../../format.js";
import { Link, navigate } from "../../router.jsx";
import { Button, Field } from "../../components/controls.jsx";
import { Empty, ErrorBox, Loading, Page } from "../../components/page.jsx";
import { Modal } from "../../components/modal.jsx";
import { toast } from "../../components/toasts.jsx";
import { usePoll } from "../../poll.js";
import { NAME_RE, NAME_RULE, kindOf, objectHref, streamHref } from "./names.js";
import { DataTabs } from "./nav.jsx";

const TYPE_LABEL = { amqp: "AMQP", mqtt: "MQTT", replay: "Replay" };

export function TypeChip({ type }) {
  return <span class={`data-type data-type-${type}`}>{TYPE_LABEL[type] || type}</span>;
}

export function Source({ s }) {
  if (s.type === "replay") {
    return (
      <span>
        <Link href={objectHref(s.object)} onClick={(e) => e.stopPropagation()}>
          {s.object}
        </Link>
        <span class="muted">
          {" "}
          at {number(s.rate)} msg/s{s.loop ? ", looping" : ""}
        </span>
      </span>
    );
  }
  const where =
    s.type === "mqtt"
      ? [["topic", s.topic]]
      : [
          ["queue", s.queue],
          ["exchange", s.exchange],
          ["key", s.exchange && s.routing_key],
        ];
  return (
    <span>
      <code class="data-uri">{s.uri}</code>
      {where
        .filter(([, v]) => v)
        .map(([k, v]) => (
          <span class="muted">
            {" "}
            · {k} <code>{v}</code>
          </span>
        ))}
    </span>
  );
}

export function StreamsView() {
  const [streams, error] = usePoll(listStreams, 15000);
  const [creating, setCreating] = useState(false);
  return (
    <Page
      title="Data"
      subtitle="Versioned objects for your notebooks, and the streams your processors read."
      actions={
        <Button kind="primary" onClick={() => setCreating(true)}>
          New stream
        </Button>
      }
    >
      <DataTabs current="streams" />
      <ErrorBox error={error} />
      {streams === undefined ? (
        !error && <Loading />
      ) : (
        <section class="panel" aria-label="Streams">
          <header class="panel-head">
            <h2>
              Streams <span class="data-count">{number(streams.length)}</span>
            </h2>
          </header>
          {streams.length === 0 ? (
            <Empty>
              No streams yet. A stream is an AMQP queue or exchange, an MQTT topic, or a replay of an uploaded CSV or JSON-lines object at a
              chosen rate.
              <div class="data-empty-action">
                <Button kind="primary" onClick={() => setCreating(true)}>
                  New stream
                </Button>
              </div>
            </Empty>
          ) : (
            <table class="table data-streams">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Type</th>
                  <th>Source</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                {streams.map((s) => (
                  <tr key={s.id} class="data-click" onClick={() => navigate(streamHref(s.name))}>
                    <td>
                      <Link href={streamHref(s.name)} class="data-name">
                        {s.name}
                      </Link>
                    </td>
                    <td>
                      <TypeChip type={s.type} />
                    </td>
                    <td>
                      <Source s={s} />
                    </td>
                    <td title={datetime(s.created_at)}>{ago(s.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
      {creating && <NewStream onClose={() => setCreating(false)} />}
    </Page>
  );
}

const REPLAYABLE = ["CSV", "TSV", "JSON lines", "JSON"];

function NewStream({ onClose }) {
  const [form, setForm] = useState({
    name: "",
    type: "replay",
    object: "",
    rate: "10",
    loop: false,
    uri: "",
    queue: "",
    exchange: "",
    routing_key: "",
    topic: "",
  });
  const [objects, objectsError] = usePoll(listObjects, 0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (key) => (e) => {
    const value = e.target.type === "checkbox" ? e.target.checked : e.target.value;
    setForm((f) => ({ ...f, [key]: value }));
  };
  const replayable = (objects || []).filter((o) => REPLAYABLE.includes(kindOf(o.name, o.content_type)));
  const others = (objects || []).filter((o) => !replayable.includes(o));
  // Until one is picked, the first object that can be replayed is the choice.
  const object = form.object || (replayable[0] ? replayable[0].name : "");

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (!NAME_RE.test(form.name)) return setError(`Name: ${NAME_RULE}`);
    const body = { name: form.name, type: form.type };
    if (form.type === "replay") {
      if (!object) return setError("Pick the object to replay.");
      const rate = Number(form.rate);
      if (!(rate > 0)) return setError("The rate must be a number of messages per second above 0.");
      Object.assign(body, { object, rate, loop: form.loop });
    } else {
      const keys = form.type === "amqp" ? ["uri", "queue", "exchange", "routing_key"] : ["uri", "topic"];
      keys.forEach((k) => form[k].trim() && (body[k] = form[k].trim()));
    }
    setBusy(true);
    try {
      const s = await createStream(body);
      toast(`Created stream ${s.name}`);
      onClose();
      navigate(streamHref(s.name));
    } catch (x) {
      setError(x);
      setBusy(false);
    }
  };
  const broker = form.type !== "replay";
  return (
    <Modal
      title="New stream"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="data-new-stream" busy={busy}>
            {busy && broker ? "Checking the broker…" : "Create stream"}
          </Button>
        </>
      }
    >
      <form id="data-new-stream" class="data-form" onSubmit={submit}>
        <Field label="Name" hint="Processors and the SDK's emit() refer to the stream by this name.">
          <input value={form.name} onInput={set("name")} placeholder="e.g. plays-live" spellcheck={false} autoComplete="off" />
        </Field>
        <Field label="Type">
          <select aria-label="Type" value={form.type} onChange={set("type")}>
            <option value="replay">Replay an object (CSV or JSON lines)</option>
            <option value="amqp">AMQP 0-9-1 (RabbitMQ)</option>
            <option value="mqtt">MQTT</option>
          </select>
        </Field>
        {form.type === "replay" && (
          <>
            <Field label="Object" hint="Each row or line becomes one message.">
              {objects === undefined ? (
                objectsError ? (
                  <ErrorBox error={objectsError} />
                ) : (
                  <Loading />
                )
              ) : objects.length === 0 ? (
                <p class="muted data-inline-note">
                  No objects yet:{" "}
                  <Link href="/data" onClick={onClose}>
                    upload a CSV or JSON-lines file
                  </Link>{" "}
                  first.
                </p>
              ) : (
                <select aria-label="Object" value={object} onChange={set("object")}>
                  {!object && <option value="">Choose an object…</option>}
                  {replayable.map((o) => (
                    <option value={o.name}>
                      {o.name} · {kindOf(o.name, o.content_type)} · {bytes(o.size)}
                    </option>
                  ))}
                  {others.length > 0 && (
                    <optgroup label="Other objects">
                      {others.map((o) => (
                        <option value={o.name}>
                          {o.name} · {kindOf(o.name, o.content_type)}
                        </option>
                      ))}
                    </optgroup>
                  )}
                </select>
              )}
            </Field>
            <div class="data-form-row">
              <Field label="Rate" hint="Messages per second">
                <input type="number" min="0" step="any" value={form.rate} onInput={set("rate")} />
              </Field>
              <label class="data-check">
                <input type="checkbox" checked={form.loop} onChange={set("loop")} /> Loop: start again at the end
              </label>
            </div>
          </>
        )}
        {broker && (
          <Field
            label="URI"
            hint="The password is stored encrypted and never shown again. An execution node checks the broker before the stream is saved."
          >
            <input
              value={form.uri}
              onInput={set("uri")}
              spellcheck={false}
              autoComplete="off"
              placeholder={form.type === "amqp" ? "amqp://user:password@host:5672/vhost" : "mqtt://host:1883"}
            />
          </Field>
        )}
        {form.type === "amqp" && (
          <>
            <div class="data-form-row">
              <Field label="Queue" hint="Read from this durable queue">
                <input value={form.queue} onInput={set("queue")} spellcheck={false} />
              </Field>
              <Field label="Exchange" hint="Or subscribe to this exchange">
                <input value={form.exchange} onInput={set("exchange")} spellcheck={false} />
              </Field>
            </div>
            <Field label="Routing key" hint="Binding key on the exchange (default #)">
              <input value={form.routing_key} onInput={set("routing_key")} placeholder="#" spellcheck={false} />
            </Field>
          </>
        )}
        {form.type === "mqtt" && (
          <Field label="Topic" hint="A topic filter; + and # wildcards work">
            <input value={form.topic} onInput={set("topic")} placeholder="plays/#" spellcheck={false} />
          </Field>
        )}
        <ErrorBox error={error} />
      </form>
    </Modal>
  );
}
