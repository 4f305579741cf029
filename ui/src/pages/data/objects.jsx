// Objects: the list (with uploads and filtering) and an object's page (preview, versions, details, edit, delete).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { deleteObject, getObject, listObjects, objectContentUrl, updateObject } from "../../api/objects.js";
import { ago, bytes, datetime, number } from "../../format.js";
import { Link, navigate } from "../../router.jsx";
import { Badge, Button, Field } from "../../components/controls.jsx";
import { Confirm, Modal } from "../../components/modal.jsx";
import { Empty, ErrorBox, Loading, Page } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { usePoll } from "../../poll.js";
import { kindOf, objectHref } from "./names.js";
import { Crumbs, DataTabs } from "./nav.jsx";
import { PreviewPanel } from "./preview.jsx";
import {
  DropOverlay,
  FilePicker,
  UploadList,
  dropHandlers,
  stageFiles,
  startUpload,
  useAfterUpload,
  useFileDrop,
  useTenantUploads,
} from "./uploads.jsx";

const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function snippet(name, contentType) {
  const kind = kindOf(name, contentType);
  const call = kind === "CSV" ? "read_csv" : kind === "TSV" ? "read_csv" : kind.startsWith("JSON") ? "read_json" : "load";
  const extra = kind === "TSV" ? ', sep="\\t"' : "";
  return `from suricate import sdk\n\n${call === "load" ? "obj" : "df"} = sdk.${call}("${name}"${extra})`;
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

export function ObjectsView() {
  const [objects, error, reload] = usePoll(listObjects, 15000);
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
          <Button kind="primary" onClick={browse}>
            Upload files
          </Button>
        </>
      }
    >
      <DataTabs current="objects" />
      <div
        class={"data-dropzone" + (objects && objects.length ? " data-dropzone-compact" : "") + (dragging ? " data-dropzone-over" : "")}
        {...dropHandlers((files) => stageFiles(files))}
      >
        <span class="data-dropzone-icon" aria-hidden="true">
          ⇪
        </span>
        <div>
          <strong>Drag files here</strong> or{" "}
          <button type="button" class="data-link-btn" onClick={browse}>
            browse
          </button>{" "}
          to upload them.
          <div class="muted">Uploading a name that exists adds a version. CSV, TSV, JSON, JSON lines and Parquet files get a preview.</div>
        </div>
      </div>
      <UploadList items={items} existing={existing} />
      <ErrorBox error={error} />
      {objects === undefined ? !error && <Loading /> : <ObjectTable objects={objects} />}
      {dragging && <DropOverlay text="Drop to upload" />}
    </Page>
  );
}

const ROWS_PER_PAGE = 100;

const SORTS = {
  name: (a, b) => a.name.localeCompare(b.name),
  size: (a, b) => a.size - b.size,
  updated: (a, b) => new Date(a.updated_at) - new Date(b.updated_at),
};

function ObjectTable({ objects }) {
  const [filter, setFilter] = useState("");
  const [tag, setTag] = useState("");
  // Newest first, as uploads happen: what was just made is at the top, not under older files.
  const [sort, setSort] = useState(["updated", -1]);
  const [limit, setLimit] = useState(ROWS_PER_PAGE);
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
        <span class="data-sort-mark" aria-hidden="true">
          {sort[0] === key ? (sort[1] > 0 ? "▲" : "▼") : ""}
        </span>
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
            onInput={(e) => {
              setFilter(e.target.value);
              setLimit(ROWS_PER_PAGE);
            }}
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
            {shown.slice(0, limit).map((o) => (
              <tr key={o.name} class="data-click" onClick={() => navigate(objectHref(o.name))}>
                <td>
                  <Link href={objectHref(o.name)} class="data-name">
                    {o.name}
                  </Link>
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
      {shown.length > limit && (
        <footer class="panel-foot">
          <span class="muted">
            Showing {number(limit)} of {number(shown.length)}
          </span>
          <button class="btn btn-secondary btn-small" onClick={() => setLimit(limit + ROWS_PER_PAGE)}>
            Show {number(Math.min(ROWS_PER_PAGE, shown.length - limit))} more
          </button>
        </footer>
      )}
    </section>
  );
}

export function ObjectView({ name }) {
  const [obj, error, reload] = usePoll(() => getObject(name), 0, [name]);
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
  const crumbs = (
    <Crumbs
      items={[
        ["/data", "Data"],
        ["/data", "Objects"],
        [null, name],
      ]}
    />
  );

  if (!obj) {
    return (
      <>
        {crumbs}
        <Page title={name} wide>
          <ErrorBox error={error} />
          {error ? (
            <p>
              <Link href="/data">Back to the objects</Link>
            </p>
          ) : (
            <Loading />
          )}
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
            <a class="btn btn-primary" href={objectContentUrl(name)} download>
              Download
            </a>
            <Button onClick={() => picker.current.click()}>Upload new version</Button>
            <Button kind="danger" onClick={() => setConfirm(true)}>
              Delete
            </Button>
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
                    <th>
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {versions.map((v) => (
                    <tr class={v.version === version ? "data-selected" : ""}>
                      <td>
                        <strong>v{v.version}</strong> {v.version === obj.version && <Badge status="ok">latest</Badge>}
                      </td>
                      <td class="num">{bytes(v.size)}</td>
                      <td>
                        <code class="data-sha" title={v.sha256}>
                          {v.sha256.slice(0, 12)}
                        </code>
                      </td>
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
                        <a
                          class="btn btn-small"
                          href={objectContentUrl(name, v.version)}
                          download
                          aria-label={`Download version ${v.version}`}
                        >
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
              <header class="panel-head">
                <h2>Use in a notebook</h2>
              </header>
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
              await deleteObject(name);
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
        <Button small onClick={onEdit}>
          Edit
        </Button>
      </header>
      <dl class="data-props">
        <dt>Description</dt>
        <dd>{obj.description ? <span class="data-description">{obj.description}</span> : <span class="muted">No description</span>}</dd>
        <dt>Tags</dt>
        <dd>{obj.tags.length ? obj.tags.map((t) => <span class="data-tag">{t}</span>) : <span class="muted">None</span>}</dd>
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
        <dd>
          <code class="data-sha data-sha-full">{obj.sha256}</code>
        </dd>
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
      await updateObject(obj.name, { description, tags: list });
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
          <Button kind="primary" type="submit" form="data-edit-object" busy={busy}>
            Save
          </Button>
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
