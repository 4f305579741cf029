// The notebooks of the tenant: open, create, import an .ipynb, export, delete.
import "./notebook/notebook.css";
import { useRef, useState } from "preact/hooks";
import { createNotebook, deleteNotebook, importNotebook, listNotebooks, notebookIpynbUrl } from "../api/notebooks.js";
import { ago, datetime, number } from "../format.js";
import { Link, navigate } from "../router.jsx";
import { Button, Field } from "../components/controls.jsx";
import { Confirm, Modal } from "../components/modal.jsx";
import { Empty, ErrorBox, Loading, Page, Tabs } from "../components/page.jsx";
import { toast } from "../components/toasts.jsx";
import { usePoll } from "../poll.js";

const KINDS = [
  ["analytics", "Analytics", "Explore data, plot it and fit models, interactively."],
  ["processing", "Processing", "Handle each message of a stream with your models; deploy it on Processing."],
];

function KindBadge({ kind }) {
  return <span class={"nb-kind nb-kind-" + kind}>{kind}</span>;
}

const HANDLER = `from suricate import sdk

# Runs once when the processor starts: imports, and models to load, e.g. model = sdk.load("model.pkl").


def on_message(msg):
    """Called for each message: msg.body is the decoded JSON (or bytes), msg.headers a dict."""
    sdk.action(f"got {msg.body}", body=msg.body)`;

const HANDLER_HELP = `## A processing notebook

A processor runs this notebook's cells once, then calls \`on_message(msg)\` for each message of its stream.
\`msg\` has \`body\` (the decoded JSON, or bytes), \`headers\`, \`stream\`, \`id\`, \`redelivered\` and \`raw\`.
In the handler, \`sdk.action(text, **data)\` records an action and \`sdk.emit(stream, payload)\` publishes a message.
Define \`on_batch(msgs)\` instead (or as well) to take micro-batches: a model predicting many rows at once is much faster.

Run the cells, try the handler with **Try on a message** (above), then deploy it on a stream from Processing.`;

/** The notebook a new one starts as: a processing notebook gets a handler to fill in. */
function starter(kind) {
  if (kind !== "processing") return undefined;
  const cell = (id, type, source) =>
    type === "code"
      ? { id, cell_type: type, metadata: {}, source, outputs: [], execution_count: null }
      : { id, cell_type: type, metadata: {}, source };
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "python3", display_name: "Python 3", language: "python" },
      language_info: { name: "python" },
    },
    cells: [cell("about", "markdown", HANDLER_HELP), cell("handler", "code", HANDLER)],
  };
}

function freeName(items) {
  const names = new Set((items || []).map((n) => n.name));
  for (let i = 1; ; i++) {
    const name = `untitled-${i}`;
    if (!names.has(name)) return name;
  }
}

function NewNotebookDialog({ items, onClose }) {
  const [name, setName] = useState(() => freeName(items));
  const [kind, setKind] = useState("analytics");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const nb = await createNotebook({ name: name.trim(), kind, notebook: starter(kind) });
      onClose();
      navigate(`/notebooks/${nb.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title="New notebook"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="new-notebook" busy={busy}>
            Create
          </Button>
        </>
      }
    >
      <form id="new-notebook" onSubmit={submit}>
        <Field label="Name" hint="Letters, digits, '.', '_' and '-'; unique in this workspace.">
          <input value={name} onInput={(e) => setName(e.target.value)} required spellcheck={false} autocomplete="off" />
        </Field>
        <fieldset class="nb-kind-choice">
          <legend class="field-label">Kind</legend>
          {KINDS.map(([value, label, help]) => (
            <label class={"nb-kind-option" + (kind === value ? " selected" : "")}>
              <input type="radio" name="kind" value={value} checked={kind === value} onChange={() => setKind(value)} />
              <span>
                <strong>{label}</strong>
                <span class="muted">{help}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <ErrorBox error={error} />
      </form>
    </Modal>
  );
}

export function NotebooksPage() {
  const [items, loadError, reload] = usePoll(() => listNotebooks(), 15000);
  const [tab, setTab] = useState("all");
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState(null);
  const [importing, setImporting] = useState(false);
  const [importError, setImportError] = useState(null);
  const file = useRef();

  const importFile = async (e) => {
    const chosen = e.target.files[0];
    e.target.value = "";
    if (!chosen) return;
    setImporting(true);
    setImportError(null);
    try {
      const nb = await importNotebook(chosen);
      const repaired = (nb.repairs || []).length ? ` (repaired: ${nb.repairs.join("; ")})` : "";
      toast(`Imported ${nb.name}${repaired}`);
      navigate(`/notebooks/${nb.id}`);
    } catch (err) {
      setImportError(`Not imported: ${err.message}`);
      setImporting(false);
    }
  };

  const count = (kind) => (items || []).filter((n) => n.kind === kind).length;
  const shown = (items || []).filter((n) => tab === "all" || n.kind === tab);
  return (
    <Page
      title="Notebooks"
      subtitle="Analytics notebooks explore data and fit models; processing notebooks act on stream messages."
      actions={
        <>
          <Button busy={importing} onClick={() => file.current.click()}>
            Import .ipynb
          </Button>
          <input
            ref={file}
            type="file"
            accept=".ipynb,application/x-ipynb+json,application/json"
            class="sr-only"
            tabIndex={-1}
            aria-label="Notebook file to import"
            onChange={importFile}
          />
          <Button kind="primary" onClick={() => setCreating(true)}>
            New notebook
          </Button>
        </>
      }
    >
      <ErrorBox error={importError} onClose={() => setImportError(null)} />
      <ErrorBox error={loadError} />
      {items === undefined ? (
        !loadError && <Loading />
      ) : items.length === 0 ? (
        <div class="panel">
          <Empty>
            <p>No notebooks yet.</p>
            <p>
              <Button kind="primary" onClick={() => setCreating(true)}>
                New notebook
              </Button>{" "}
              or import a Jupyter notebook (.ipynb).
            </p>
          </Empty>
        </div>
      ) : (
        <>
          <Tabs
            tabs={[
              ["all", `All (${items.length})`],
              ["analytics", `Analytics (${count("analytics")})`],
              ["processing", `Processing (${count("processing")})`],
            ]}
            current={tab}
            onChange={setTab}
          />
          <div class="panel">
            {shown.length === 0 ? (
              <Empty>No {tab} notebooks.</Empty>
            ) : (
              <table class="table nb-list">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Kind</th>
                    <th class="num">Revision</th>
                    <th>Updated</th>
                    <th>
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((n) => (
                    <tr key={n.id}>
                      <td>
                        <Link href={`/notebooks/${n.id}`} class="nb-list-name">
                          {n.name}
                        </Link>
                      </td>
                      <td>
                        <KindBadge kind={n.kind} />
                      </td>
                      <td class="num">{number(n.revision)}</td>
                      <td title={datetime(n.updated_at)}>{ago(n.updated_at)}</td>
                      <td class="nb-list-actions">
                        <a class="btn btn-small btn-ghost" href={notebookIpynbUrl(n.id)} download={`${n.name}.ipynb`}>
                          Export
                        </a>
                        <Button small kind="danger" aria-label={`Delete ${n.name}`} onClick={() => setDeleting(n)}>
                          Delete
                        </Button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </>
      )}
      {creating && <NewNotebookDialog items={items} onClose={() => setCreating(false)} />}
      {deleting && (
        <Confirm
          title="Delete notebook"
          message={`Delete ${deleting.name} and all its ${deleting.revision} revisions? This cannot be undone.`}
          onConfirm={async () => {
            await deleteNotebook(deleting.id);
            toast(`Deleted ${deleting.name}`);
            reload();
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </Page>
  );
}
