// "Deploy processor": a processing notebook on a stream, with its delivery settings.
import { useEffect, useRef, useState } from "preact/hooks";
import { listNotebooks } from "../../api/notebooks.js";
import { deployProcessor } from "../../api/processors.js";
import { listStreams } from "../../api/streams.js";
import { Button, Field } from "../../components/controls.jsx";
import { Modal } from "../../components/modal.jsx";
import { ErrorBox, Loading } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { Link, navigate } from "../../router.jsx";
import { describeStream } from "./format.js";

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

export function DeployDialog({ onClose }) {
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
    Promise.all([listNotebooks("processing"), listStreams()]).then(([notebooks, streams]) => {
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
      const p = await deployProcessor(body);
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
