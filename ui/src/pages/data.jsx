// The Data page: versioned objects (upload with progress, browse, preview, versions, edit, delete)
// and streams (define, watch a live tail, send a test message, delete).
import { Fragment } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import "./data.css";
import { all, api, API, del, get, post, upload } from "../api.js";
import { ago, bytes, datetime, number } from "../format.js";
import { Link, match, navigate } from "../router.jsx";
import { session } from "../session.js";
import { signal } from "../signal.js";
import {
  Badge, Button, Confirm, Empty, ErrorBox, Field, Loading, Modal, Page, Tabs, toast, usePoll,
} from "../ui.jsx";

export function DataPage({ path }) {
  let p;
  if (path === "/data" || path === "/data/" || path === "/data/objects") return <ObjectsView />;
  if ((p = match("/data/objects/:name", path))) return <ObjectView key={p.name} name={p.name} />;
  if (path === "/data/streams") return <StreamsView />;
  if ((p = match("/data/streams/:name", path))) return <StreamView key={p.name} name={p.name} />;
  return (
    <Page title="Not found">
      <p>No data page at {path}. <Link href="/data">Go to the objects</Link>.</p>
    </Page>
  );
}

// Names, paths and kinds

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const NAME_RULE = "Use letters, digits, '.', '_' or '-', starting with a letter or digit.";
const enc = encodeURIComponent;
const objectHref = (name) => `/data/objects/${enc(name)}`;
const streamHref = (name) => `/data/streams/${enc(name)}`;
const contentUrl = (name, version) => `${API}/objects/${enc(name)}/content${version ? `?version=${version}` : ""}`;

/** An object name from a file name: the characters names may not hold become '_'. */
function nameFromFile(fileName) {
  const name = fileName.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[^A-Za-z0-9]+/, "");
  return name.slice(0, 255) || "upload";
}

const KINDS = [
  [/\.csv(\.gz)?$/i, "CSV"],
  [/\.(tsv|tab)(\.gz)?$/i, "TSV"],
  [/\.(jsonl|ndjson)(\.gz)?$/i, "JSON lines"],
  [/\.json(\.gz)?$/i, "JSON"],
  [/\.parquet$/i, "Parquet"],
  [/\.(pkl|pickle|joblib)$/i, "Pickle"],
  [/\.(png|jpe?g|gif|svg|webp)$/i, "Image"],
  [/\.(txt|log|md)$/i, "Text"],
  [/\.ipynb$/i, "Notebook"],
  [/\.(zip|gz|tgz)$/i, "Archive"],
];
const CTYPES = { "text/csv": "CSV", "application/json": "JSON", "text/plain": "Text", "application/octet-stream": "Binary" };

function kindOf(name, contentType) {
  const found = KINDS.find(([re]) => re.test(name));
  if (found) return found[1];
  const ctype = (contentType || "").split(";")[0].trim();
  return CTYPES[ctype] || ctype || "Binary";
}

function snippet(name, contentType) {
  const kind = kindOf(name, contentType);
  const call = kind === "CSV" ? "read_csv" : kind === "TSV" ? "read_csv" : kind.startsWith("JSON") ? "read_json" : "load";
  const extra = kind === "TSV" ? ', sep="\\t"' : "";
  return `from suricate import sdk\n\n${call === "load" ? "obj" : "df"} = sdk.${call}("${name}"${extra})`;
}

function DataTabs({ current }) {
  return (
    <Tabs
      tabs={[["objects", "Objects"], ["streams", "Streams"]]}
      current={current}
      onChange={(key) => navigate(key === "objects" ? "/data" : "/data/streams")}
    />
  );
}

function Crumbs({ items }) {
  return (
    <nav class="data-crumbs" aria-label="Breadcrumb">
      {items.map(([href, label], i) => (
        <>
          {i > 0 && <span class="data-crumb-sep" aria-hidden="true">/</span>}
          {href ? <Link href={href}>{label}</Link> : <span aria-current="page">{label}</span>}
        </>
      ))}
    </nav>
  );
}

/** Focus `ref` when "/" is pressed outside a text field. */
function useSlashFocus(ref) {
  useEffect(() => {
    const onKey = (e) => {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target;
      if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
      if (ref.current) {
        e.preventDefault();
        ref.current.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
}

// Uploads live outside the views so they go on while the user looks at something else.

const uploads = signal([]);
const uploadsDone = signal(0);
let uploadSeq = 0;

function patchUpload(id, change) {
  uploads.set(uploads.get().map((u) => (u.id === id ? { ...u, ...change } : u)));
}

function removeUpload(id) {
  const u = uploads.get().find((x) => x.id === id);
  if (u && u.controller) u.controller.abort();
  uploads.set(uploads.get().filter((x) => x.id !== id));
}

function stageFiles(files, fixedName) {
  const tenant = session.get()?.tenant;
  const added = [...files].map((file) => ({
    id: ++uploadSeq, tenant, file, name: fixedName || nameFromFile(file.name), fixed: !!fixedName,
    state: "ready", fraction: 0, loaded: 0, error: null, controller: null, result: null,
  }));
  uploads.set([...uploads.get(), ...added]);
  return added;
}

// Leaving the app while an upload runs would lose it: ask first.
let guarding = false;
function guardUnload() {
  if (guarding) return;
  guarding = true;
  window.addEventListener("beforeunload", (e) => {
    if (uploads.get().some((u) => u.state === "uploading")) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
}

async function startUpload(id) {
  const u = uploads.get().find((x) => x.id === id);
  if (!u || u.state === "uploading" || !NAME_RE.test(u.name)) return;
  guardUnload();
  const controller = new AbortController();
  patchUpload(id, { state: "uploading", controller, fraction: 0, loaded: 0, error: null });
  try {
    const result = await upload(u.name, u.file, (fraction, loaded) => patchUpload(id, { fraction, loaded }), controller.signal);
    patchUpload(id, { state: "done", fraction: 1, loaded: u.file.size, controller: null, result });
    toast(`Uploaded ${result.name} (version ${result.version})`);
    uploadsDone.set(uploadsDone.get() + 1);
  } catch (e) {
    const cancelled = e.code === "aborted";
    patchUpload(id, { state: cancelled ? "cancelled" : "error", error: cancelled ? null : e, controller: null });
  }
}

function useTenantUploads(filter = () => true) {
  const list = uploads.use();
  const tenant = session.use()?.tenant;
  return list.filter((u) => u.tenant === tenant && filter(u));
}

/** Call fn whenever an upload finishes (not for the ones finished before the caller showed). */
function useAfterUpload(fn) {
  const done = uploadsDone.use();
  const seen = useRef(done);
  useEffect(() => {
    if (done !== seen.current) {
      seen.current = done;
      fn();
    }
  }, [done]);
}

/** Call onFiles with files dropped anywhere on the page; returns whether files are dragged over it. */
function useFileDrop(onFiles) {
  const [over, setOver] = useState(false);
  const handler = useRef(onFiles);
  handler.current = onFiles;
  useLayoutEffect(() => {
    let depth = 0;
    const hasFiles = (e) => e.dataTransfer && [...(e.dataTransfer.types || [])].includes("Files");
    const enter = (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      setOver(true);
    };
    const overIt = (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    };
    const leave = (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const drop = (e) => {
      if (!hasFiles(e)) return;
      depth = 0;
      setOver(false);
      if (e.defaultPrevented) return; // a drop zone's own handler (dropHandlers) took it
      e.preventDefault();
      if (e.dataTransfer.files.length) handler.current([...e.dataTransfer.files]);
    };
    const events = [["dragenter", enter], ["dragover", overIt], ["dragleave", leave], ["drop", drop]];
    events.forEach(([name, fn]) => document.addEventListener(name, fn));
    return () => events.forEach(([name, fn]) => document.removeEventListener(name, fn));
  }, []);
  return over;
}

/** Props for an element that takes dropped files itself (before the page-wide listener exists). */
function dropHandlers(onFiles) {
  return {
    onDragOver: (e) => e.preventDefault(),
    onDrop: (e) => {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) onFiles([...e.dataTransfer.files]);
    },
  };
}

function DropOverlay({ text }) {
  return (
    <div class="data-drop-overlay" aria-hidden="true">
      <div class="data-drop-card">
        <span class="data-drop-icon">⇪</span>
        {text}
      </div>
    </div>
  );
}

function FilePicker({ inputRef, onFiles, multiple = true, label }) {
  return (
    <input
      ref={inputRef}
      type="file"
      class="sr-only"
      tabIndex={-1}
      multiple={multiple}
      aria-label={label}
      onChange={(e) => {
        const files = [...e.target.files];
        e.target.value = "";
        if (files.length) onFiles(files);
      }}
    />
  );
}

function UploadProgress({ u }) {
  const pct = Math.floor(u.fraction * 100);
  const size = u.file.size;
  let text;
  if (u.state === "done") text = `Uploaded · ${bytes(size)} · version ${u.result.version}`;
  else if (u.state === "cancelled") text = `Cancelled at ${pct}%`;
  else if (u.state === "error") text = `Failed at ${pct}%`;
  else if (u.fraction >= 1) text = `Finishing… ${bytes(size)} sent, checksumming`;
  else text = `${pct}% · ${bytes(u.loaded)} of ${bytes(size)}`;
  return (
    <div class="data-progress">
      <div
        class={"progress data-progress-bar data-progress-" + u.state}
        role="progressbar"
        aria-label={`Upload of ${u.name}`}
        aria-valuemin="0"
        aria-valuemax="100"
        aria-valuenow={u.state === "done" ? 100 : pct}
      >
        <div style={{ width: (u.state === "done" ? 100 : pct) + "%" }} />
      </div>
      <span class="data-progress-text">{text}</span>
    </div>
  );
}

function UploadRow({ u, existing }) {
  const valid = NAME_RE.test(u.name);
  const prior = existing && existing.get(u.name);
  const label = `Object name for ${u.file.name}`;
  return (
    <li class={"data-upload data-upload-" + u.state}>
      <div class="data-upload-what">
        {u.state === "ready" && !u.fixed ? (
          <form onSubmit={(e) => { e.preventDefault(); startUpload(u.id); }}>
            <input
              class="data-upload-name"
              value={u.name}
              aria-label={label}
              aria-invalid={!valid}
              spellcheck={false}
              onInput={(e) => patchUpload(u.id, { name: e.target.value })}
            />
          </form>
        ) : (
          <span class="data-upload-title">
            {u.state === "done" ? <Link href={objectHref(u.result.name)}>{u.name}</Link> : u.name}
          </span>
        )}
        <span class="data-upload-file muted">
          {u.state !== "ready" && u.file.name === u.name ? "" : `${u.file.name} · `}
          {bytes(u.file.size)}
          {u.state === "ready" && valid && (
            <> · {prior ? `adds version ${prior.version + 1} of an existing object` : "new object"}</>
          )}
        </span>
        {u.state === "ready" && !valid && <span class="data-invalid">{NAME_RULE}</span>}
      </div>
      <div class="data-upload-status">
        {u.state === "ready" ? <span class="muted">Ready to upload</span> : <UploadProgress u={u} />}
      </div>
      <div class="data-upload-actions">
        {u.state === "ready" && (
          <Button kind="primary" small disabled={!valid} onClick={() => startUpload(u.id)}>Upload</Button>
        )}
        {u.state === "uploading" && <Button small onClick={() => u.controller.abort()}>Cancel</Button>}
        {(u.state === "error" || u.state === "cancelled") && (
          <Button small onClick={() => startUpload(u.id)}>Retry</Button>
        )}
        {u.state === "done" && <Link class="btn btn-small" href={objectHref(u.result.name)}>Open</Link>}
        {u.state !== "uploading" && (
          <button class="icon-btn" aria-label={`Remove ${u.name} from the list`} onClick={() => removeUpload(u.id)}>×</button>
        )}
      </div>
      {u.error && (
        <div class="data-upload-error">
          <ErrorBox error={u.error} />
        </div>
      )}
    </li>
  );
}

function UploadList({ items, existing, title = "Uploads" }) {
  if (!items.length) return null;
  const ready = items.filter((u) => u.state === "ready" && NAME_RE.test(u.name));
  const finished = items.filter((u) => u.state === "done" || u.state === "cancelled");
  return (
    <section class="panel data-uploads" aria-label={title}>
      <header class="panel-head">
        <h2>{title}</h2>
        <div class="row">
          {finished.length > 0 && (
            <Button small kind="ghost" onClick={() => finished.forEach((u) => removeUpload(u.id))}>Clear finished</Button>
          )}
          {ready.length > 1 && (
            <Button small kind="primary" onClick={() => ready.forEach((u) => startUpload(u.id))}>
              Upload all ({ready.length})
            </Button>
          )}
        </div>
      </header>
      <ul class="data-upload-list">
        {items.map((u) => (
          <UploadRow key={u.id} u={u} existing={existing} />
        ))}
      </ul>
    </section>
  );
}

// Objects

function ObjectsView() {
  const [objects, error, reload] = usePoll(() => all("/objects"), 15000);
  useAfterUpload(reload);
  const items = useTenantUploads();
  const picker = useRef();
  const dragging = useFileDrop((files) => stageFiles(files));
  const existing = useMemo(() => new Map((objects || []).map((o) => [o.name, o])), [objects]);
  const browse = () => picker.current.click();
  return (
    <Page
      title="Data"
      subtitle="Versioned objects for your notebooks, and the streams your processors read."
      actions={
        <>
          <FilePicker inputRef={picker} onFiles={(f) => stageFiles(f)} label="Choose files to upload" />
          <Button kind="primary" onClick={browse}>Upload files</Button>
        </>
      }
    >
      <DataTabs current="objects" />
      <div
        class={"data-dropzone" + (objects && objects.length ? " data-dropzone-compact" : "") + (dragging ? " data-dropzone-over" : "")}
        {...dropHandlers((files) => stageFiles(files))}
      >
        <span class="data-dropzone-icon" aria-hidden="true">⇪</span>
        <div>
          <strong>Drag files here</strong> or{" "}
          <button type="button" class="data-link-btn" onClick={browse}>browse</button>{" "}
          to upload them.
          <div class="muted">
            Uploading a name that exists adds a version. CSV, TSV, JSON, JSON lines and Parquet files get a preview.
          </div>
        </div>
      </div>
      <UploadList items={items} existing={existing} />
      <ErrorBox error={error} />
      {objects === undefined ? !error && <Loading /> : <ObjectTable objects={objects} />}
      {dragging && <DropOverlay text="Drop to upload" />}
    </Page>
  );
}

const SORTS = {
  name: (a, b) => a.name.localeCompare(b.name),
  size: (a, b) => a.size - b.size,
  updated: (a, b) => new Date(a.updated_at) - new Date(b.updated_at),
};

function ObjectTable({ objects }) {
  const [filter, setFilter] = useState("");
  const [tag, setTag] = useState("");
  const [sort, setSort] = useState(["name", 1]);
  const search = useRef();
  useSlashFocus(search);
  const tags = useMemo(() => [...new Set(objects.flatMap((o) => o.tags))].sort(), [objects]);
  const needle = filter.trim().toLowerCase();
  const shown = objects
    .filter((o) => (!needle || o.name.toLowerCase().includes(needle)) && (!tag || o.tags.includes(tag)))
    .sort((a, b) => SORTS[sort[0]](a, b) * sort[1]);
  const head = (key, label, cls) => (
    <th class={cls} aria-sort={sort[0] === key ? (sort[1] > 0 ? "ascending" : "descending") : undefined}>
      <button class="data-sort" onClick={() => setSort([key, sort[0] === key ? -sort[1] : key === "name" ? 1 : -1])}>
        {label}
        <span class="data-sort-mark" aria-hidden="true">{sort[0] === key ? (sort[1] > 0 ? "▲" : "▼") : ""}</span>
      </button>
    </th>
  );
  return (
    <section class="panel" aria-label="Objects">
      <header class="panel-head">
        <h2>
          Objects <span class="data-count">{number(objects.length)}</span>
        </h2>
        <div class="row">
          {tags.length > 0 && (
            <select aria-label="Filter by tag" value={tag} onChange={(e) => setTag(e.target.value)}>
              <option value="">All tags</option>
              {tags.map((t) => (
                <option value={t}>{t}</option>
              ))}
            </select>
          )}
          <input
            ref={search}
            type="search"
            class="data-search"
            placeholder="Filter by name   ( / )"
            aria-label="Filter objects by name"
            value={filter}
            onInput={(e) => setFilter(e.target.value)}
          />
        </div>
      </header>
      {objects.length === 0 ? (
        <Empty>No objects yet. Upload a CSV, JSON or Parquet file to explore it in a notebook.</Empty>
      ) : shown.length === 0 ? (
        <Empty>No object matches “{filter || tag}”.</Empty>
      ) : (
        <table class="table data-objects">
          <thead>
            <tr>
              {head("name", "Name")}
              <th>Latest</th>
              {head("size", "Size", "num")}
              <th>Type</th>
              <th>Tags</th>
              {head("updated", "Updated")}
            </tr>
          </thead>
          <tbody>
            {shown.map((o) => (
              <tr key={o.name} class="data-click" onClick={() => navigate(objectHref(o.name))}>
                <td>
                  <Link href={objectHref(o.name)} class="data-name">{o.name}</Link>
                  {o.description && <div class="data-desc muted">{o.description}</div>}
                </td>
                <td>v{o.version}</td>
                <td class="num">{bytes(o.size)}</td>
                <td title={o.content_type}>{kindOf(o.name, o.content_type)}</td>
                <td>
                  {o.tags.map((t) => (
                    <span class="data-tag">{t}</span>
                  ))}
                </td>
                <td title={datetime(o.updated_at)}>{ago(o.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ObjectView({ name }) {
  const [obj, error, reload] = usePoll(() => get(`/objects/${enc(name)}`), 0, [name]);
  useAfterUpload(reload);
  const mine = useTenantUploads((u) => u.fixed && u.name === name);
  const [previewVersion, setPreviewVersion] = useState(null);
  const [confirm, setConfirm] = useState(false);
  const [editing, setEditing] = useState(false);
  const picker = useRef();
  const addVersion = (files) => {
    if (files.length !== 1) return toast("Drop one file to add a version of " + name, "bad");
    stageFiles(files, name).forEach((u) => startUpload(u.id));
  };
  const dragging = useFileDrop(addVersion);
  const crumbs = <Crumbs items={[["/data", "Data"], ["/data", "Objects"], [null, name]]} />;

  if (!obj) {
    return (
      <>
        {crumbs}
        <Page title={name} wide>
          <ErrorBox error={error} />
          {error ? <p><Link href="/data">Back to the objects</Link></p> : <Loading />}
        </Page>
      </>
    );
  }
  const version = previewVersion || obj.version;
  const versions = [...obj.versions].reverse();
  return (
    <>
      {crumbs}
      <Page
        title={name}
        wide
        subtitle={
          <>
            {kindOf(obj.name, obj.content_type)} · {obj.versions.length} {obj.versions.length === 1 ? "version" : "versions"} ·{" "}
            {bytes(obj.size)} · updated <span title={datetime(obj.updated_at)}>{ago(obj.updated_at)}</span>
          </>
        }
        actions={
          <>
            <FilePicker inputRef={picker} multiple={false} onFiles={addVersion} label="Choose a file for a new version" />
            <a class="btn btn-primary" href={contentUrl(name)} download>
              Download
            </a>
            <Button onClick={() => picker.current.click()}>Upload new version</Button>
            <Button kind="danger" onClick={() => setConfirm(true)}>Delete</Button>
          </>
        }
      >
        <ErrorBox error={error} />
        <UploadList items={mine} title="New version" />
        <div class="data-split">
          <div class="data-main">
            <PreviewPanel
              key={obj.version}
              name={name}
              version={version}
              versions={versions}
              onVersion={(v) => setPreviewVersion(v === obj.version ? null : v)}
            />
            <section class="panel" aria-label="Versions">
              <header class="panel-head">
                <h2>
                  Versions <span class="data-count">{obj.versions.length}</span>
                </h2>
              </header>
              <table class="table data-versions">
                <thead>
                  <tr>
                    <th>Version</th>
                    <th class="num">Size</th>
                    <th>SHA-256</th>
                    <th>Content type</th>
                    <th>Created</th>
                    <th><span class="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {versions.map((v) => (
                    <tr class={v.version === version ? "data-selected" : ""}>
                      <td>
                        <strong>v{v.version}</strong> {v.version === obj.version && <Badge status="ok">latest</Badge>}
                      </td>
                      <td class="num">{bytes(v.size)}</td>
                      <td><code class="data-sha" title={v.sha256}>{v.sha256.slice(0, 12)}</code></td>
                      <td class="muted">{v.content_type}</td>
                      <td title={datetime(v.created_at)}>{ago(v.created_at)}</td>
                      <td class="data-row-actions">
                        <Button
                          small
                          kind="ghost"
                          disabled={v.version === version}
                          aria-label={`Preview version ${v.version}`}
                          onClick={() => setPreviewVersion(v.version === obj.version ? null : v.version)}
                        >
                          Preview
                        </Button>
                        <a class="btn btn-small" href={contentUrl(name, v.version)} download aria-label={`Download version ${v.version}`}>
                          Download
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          </div>
          <aside class="data-side">
            <ObjectDetails obj={obj} onEdit={() => setEditing(true)} />
            <section class="panel" aria-label="Use in a notebook">
              <header class="panel-head"><h2>Use in a notebook</h2></header>
              <pre class="data-snippet">{snippet(obj.name, obj.content_type)}</pre>
            </section>
          </aside>
        </div>
        {editing && <EditObject obj={obj} onClose={() => setEditing(false)} onSaved={reload} />}
        {confirm && (
          <Confirm
            title={`Delete ${name}?`}
            message={`This deletes ${name} and its ${obj.versions.length === 1 ? "only version" : `${obj.versions.length} versions`}. Notebooks and streams that read it will fail. This cannot be undone.`}
            onClose={() => setConfirm(false)}
            onConfirm={async () => {
              await del(`/objects/${enc(name)}`);
              toast(`Deleted ${name}`);
              navigate("/data");
            }}
          />
        )}
        {dragging && <DropOverlay text={`Drop one file to add version ${obj.version + 1}`} />}
      </Page>
    </>
  );
}

function ObjectDetails({ obj, onEdit }) {
  return (
    <section class="panel" aria-label="Details">
      <header class="panel-head">
        <h2>Details</h2>
        <Button small onClick={onEdit}>Edit</Button>
      </header>
      <dl class="data-props">
        <dt>Description</dt>
        <dd>{obj.description ? <span class="data-description">{obj.description}</span> : <span class="muted">No description</span>}</dd>
        <dt>Tags</dt>
        <dd>
          {obj.tags.length ? obj.tags.map((t) => <span class="data-tag">{t}</span>) : <span class="muted">None</span>}
        </dd>
        <dt>Latest</dt>
        <dd>version {obj.version}</dd>
        <dt>Size</dt>
        <dd>
          {bytes(obj.size)} <span class="muted">({number(obj.size)} bytes)</span>
        </dd>
        <dt>Type</dt>
        <dd>
          {kindOf(obj.name, obj.content_type)} <code class="muted">{obj.content_type}</code>
        </dd>
        <dt>SHA-256</dt>
        <dd><code class="data-sha data-sha-full">{obj.sha256}</code></dd>
        <dt>Created</dt>
        <dd>{datetime(obj.versions[0].created_at)}</dd>
        <dt>Updated</dt>
        <dd>{datetime(obj.updated_at)}</dd>
      </dl>
    </section>
  );
}

function EditObject({ obj, onClose, onSaved }) {
  const [description, setDescription] = useState(obj.description);
  const [tags, setTags] = useState(obj.tags.join(", "));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const save = async (e) => {
    e.preventDefault();
    const list = [...new Set(tags.split(/[\s,]+/).filter(Boolean))];
    const bad = list.find((t) => !TAG_RE.test(t));
    if (bad) return setError(`Tag “${bad}”: use 1-64 letters, digits, '.', '_', ':' or '-'.`);
    setBusy(true);
    setError(null);
    try {
      await api("PATCH", `/objects/${enc(obj.name)}`, { json: { description, tags: list } });
      toast(`Saved ${obj.name}`);
      onSaved();
      onClose();
    } catch (x) {
      setError(x);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Edit ${obj.name}`}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="data-edit-object" busy={busy}>Save</Button>
        </>
      }
    >
      <form id="data-edit-object" onSubmit={save}>
        <Field label="Description">
          <textarea class="data-prose" rows={4} value={description} onInput={(e) => setDescription(e.target.value)} />
        </Field>
        <Field label="Tags" hint="Separated by commas or spaces, e.g. nfl, 2024, raw">
          <input value={tags} onInput={(e) => setTags(e.target.value)} spellcheck={false} />
        </Field>
        <ErrorBox error={error} />
      </form>
    </Modal>
  );
}

function PreviewPanel({ name, version, versions, onVersion }) {
  const [rows, setRows] = useState(20);
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    get(`/objects/${enc(name)}/preview`, { version, rows }).then(
      (p) => live && setState({ p }),
      (error) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [name, version, rows]);
  const { p, error, loading } = state;
  return (
    <section class="panel" aria-label="Preview">
      <header class="panel-head">
        <h2>Preview</h2>
        <div class="row">
          {p && (
            <span class="muted data-preview-meta">
              {p.format.toUpperCase()} · {p.columns.length} columns · first {p.rows.length} rows
            </span>
          )}
          <select aria-label="Preview rows" value={rows} onChange={(e) => setRows(Number(e.target.value))}>
            {[20, 100, 500].map((n) => (
              <option value={n}>{n} rows</option>
            ))}
          </select>
          {versions.length > 1 && (
            <select aria-label="Preview version" value={version} onChange={(e) => onVersion(Number(e.target.value))}>
              {versions.map((v) => (
                <option value={v.version}>version {v.version}</option>
              ))}
            </select>
          )}
        </div>
      </header>
      {error ? (
        <PreviewProblem error={error} />
      ) : !p ? (
        <Loading label="Reading the first rows…" />
      ) : (
        <div class={"table-scroll data-preview-scroll" + (loading ? " data-stale" : "")}>
          <table class="table preview-table data-preview">
            <thead>
              <tr>
                <th class="data-rownum" aria-label="Row" />
                {p.columns.map((c) => (
                  <th scope="col" class={NUMERIC.test(p.dtypes[c] || "") ? "num" : undefined}>
                    <span class="data-col">{c}</span>
                    {p.dtypes[c] && <span class="data-dtype">{p.dtypes[c]}</span>}
                  </th>
                ))}
                <th class="data-fill" aria-hidden="true" />
              </tr>
            </thead>
            <tbody>
              {p.rows.map((r, i) => (
                <tr>
                  <td class="data-rownum">{i + 1}</td>
                  {r.map((v) => (
                    <Cell v={v} />
                  ))}
                  <td class="data-fill" aria-hidden="true" />
                </tr>
              ))}
            </tbody>
          </table>
          {p.rows.length === 0 && <Empty>The file has columns but no rows.</Empty>}
        </div>
      )}
    </section>
  );
}

const NUMERIC = /^(u?int|float|double|decimal|Int|UInt|Float)/;

function Cell({ v }) {
  if (v === null || v === undefined) return <td class="data-null">null</td>;
  if (typeof v === "number") return <td class="num">{String(v)}</td>;
  if (typeof v === "boolean") return <td class="data-lit">{String(v)}</td>;
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return <td title={text.length > 60 ? text : undefined}>{text}</td>;
}

function PreviewProblem({ error }) {
  if (error.status === 422 && /no preview for this type/.test(error.message)) {
    return (
      <div class="data-notice">
        <strong>No preview for this type of file.</strong>
        <span class="muted">CSV, TSV, JSON, JSON lines and Parquet files are shown as a table here; download it to look inside.</span>
      </div>
    );
  }
  return (
    <div class="data-notice data-notice-bad">
      <strong>This file cannot be previewed.</strong>
      <ErrorBox error={error} />
    </div>
  );
}

// Streams

const TYPE_LABEL = { amqp: "AMQP", mqtt: "MQTT", replay: "Replay" };

function TypeChip({ type }) {
  return <span class={`data-type data-type-${type}`}>{TYPE_LABEL[type] || type}</span>;
}

function Source({ s }) {
  if (s.type === "replay") {
    return (
      <span>
        <Link href={objectHref(s.object)} onClick={(e) => e.stopPropagation()}>{s.object}</Link>
        <span class="muted"> at {number(s.rate)} msg/s{s.loop ? ", looping" : ""}</span>
      </span>
    );
  }
  const where = s.type === "mqtt"
    ? [["topic", s.topic]]
    : [["queue", s.queue], ["exchange", s.exchange], ["key", s.exchange && s.routing_key]];
  return (
    <span>
      <code class="data-uri">{s.uri}</code>
      {where.filter(([, v]) => v).map(([k, v]) => (
        <span class="muted"> · {k} <code>{v}</code></span>
      ))}
    </span>
  );
}

function StreamsView() {
  const [streams, error] = usePoll(() => all("/streams"), 15000);
  const [creating, setCreating] = useState(false);
  return (
    <Page
      title="Data"
      subtitle="Versioned objects for your notebooks, and the streams your processors read."
      actions={<Button kind="primary" onClick={() => setCreating(true)}>New stream</Button>}
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
              No streams yet. A stream is an AMQP queue or exchange, an MQTT topic, or a replay of an uploaded
              CSV or JSON-lines object at a chosen rate.
              <div class="data-empty-action">
                <Button kind="primary" onClick={() => setCreating(true)}>New stream</Button>
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
                    <td><Link href={streamHref(s.name)} class="data-name">{s.name}</Link></td>
                    <td><TypeChip type={s.type} /></td>
                    <td><Source s={s} /></td>
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
    name: "", type: "replay", object: "", rate: "10", loop: false,
    uri: "", queue: "", exchange: "", routing_key: "", topic: "",
  });
  const [objects, objectsError] = usePoll(() => all("/objects"), 0);
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
      const s = await post("/streams", body);
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
                objectsError ? <ErrorBox error={objectsError} /> : <Loading />
              ) : objects.length === 0 ? (
                <p class="muted data-inline-note">
                  No objects yet: <Link href="/data" onClick={onClose}>upload a CSV or JSON-lines file</Link> first.
                </p>
              ) : (
                <select aria-label="Object" value={object} onChange={set("object")}>
                  {!object && <option value="">Choose an object…</option>}
                  {replayable.map((o) => (
                    <option value={o.name}>{o.name} · {kindOf(o.name, o.content_type)} · {bytes(o.size)}</option>
                  ))}
                  {others.length > 0 && (
                    <optgroup label="Other objects">
                      {others.map((o) => (
                        <option value={o.name}>{o.name} · {kindOf(o.name, o.content_type)}</option>
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

function StreamView({ name }) {
  const [s, error] = usePoll(() => get(`/streams/${enc(name)}`), 0, [name]);
  const [confirm, setConfirm] = useState(false);
  const [sent, setSent] = useState(0);
  const crumbs = <Crumbs items={[["/data", "Data"], ["/data/streams", "Streams"], [null, name]]} />;
  if (!s) {
    return (
      <>
        {crumbs}
        <Page title={name} wide>
          <ErrorBox error={error} />
          {error ? <p><Link href="/data/streams">Back to the streams</Link></p> : <Loading />}
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
        actions={<Button kind="danger" onClick={() => setConfirm(true)}>Delete</Button>}
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
              await del(`/streams/${enc(name)}`);
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
  if (typeof v === "number" || typeof v === "boolean") return <span class={typeof v === "number" ? "data-j-num" : "data-j-lit"}>{String(v)}</span>;
  if (depth > 6) return <span class="muted">…</span>;
  if (Array.isArray(v)) {
    return (
      <span>
        [{v.map((x, i) => (
          <>
            {i > 0 && ", "}
            <Json v={x} depth={depth + 1} />
          </>
        ))}]
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
      last.current = await get(`/streams/${enc(name)}/tail`, { n: 100 });
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
          <Button small onClick={toggle} aria-pressed={isPaused}>{isPaused ? "Resume" : "Pause"}</Button>
        </div>
      </header>
      <ErrorBox error={error} />
      {!tail ? (
        !error && <Loading />
      ) : items.length === 0 ? (
        <Empty>
          No messages seen yet. They appear here as a processor reads the stream, or when you send a test message.
        </Empty>
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
                      <td class="data-tail-time" title={datetime(m.at * 1000)}>{clock(m.at)}</td>
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
                            <span class="muted">binary, {number(Math.floor((m.body.length * 3) / 4))} bytes (base64 {m.body.slice(0, 40)}…)</span>
                          )}
                        </span>
                      </td>
                      <td class="data-tail-headers">
                        {Object.entries(m.headers || {}).map(([k, v]) => (
                          <span class="data-tag">{k}={typeof v === "string" ? v : JSON.stringify(v)}</span>
                        ))}
                      </td>
                    </tr>
                    {expanded && (
                      <tr class="data-tail-detail">
                        <td />
                        <td colSpan={2}>
                          <pre>{body.kind === "json" ? JSON.stringify(body.value, null, 2) : m.body}</pre>
                          <span class="muted">id {m.id} · {m.encoding} · {datetime(m.at * 1000)}</span>
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
    const pairs = headers.split(/[,\n]/).map((h) => h.trim()).filter(Boolean);
    const bad = pairs.find((h) => !/^[^=\s]+=/.test(h));
    if (bad) return setError(`Header “${bad}” is not key=value.`);
    const q = pairs.map((h) => "header=" + enc(h)).join("&");
    setBusy(true);
    try {
      await api("POST", `/streams/${enc(name)}/messages${q ? "?" + q : ""}`, {
        body,
        headers: { "Content-Type": format === "json" ? "application/json" : "text/plain" },
      });
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
      <header class="panel-head"><h2>Send a test message</h2></header>
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
        <Button kind="primary" type="submit" busy={busy}>Send test message</Button>
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
      <header class="panel-head"><h2>Definition</h2></header>
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
      const page = await get("/processors", { stream: name, limit: 50 });
      const unknown = page.items.some((p) => !names.current || !names.current.has(p.notebook_id));
      if (unknown) names.current = new Map((await all("/notebooks")).map((n) => [n.id, n.name]));
      return page.items;
    },
    5000,
    [name],
  );
  return (
    <section class="panel" aria-label="Processors">
      <header class="panel-head"><h2>Processors</h2></header>
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
              <Link href={`/processing/${p.id}`}>{(names.current && names.current.get(p.notebook_id)) || `processor ${p.id.slice(0, 8)}`}</Link>
              <Badge status={p.status} />
              <span class="muted">{number(p.processed)} processed · {p.throughput.toFixed(1)} msg/s</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
