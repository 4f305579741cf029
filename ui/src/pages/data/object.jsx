// An object's page: preview, versions, details, a snippet for notebooks; new version, edit, delete.
import { useRef, useState } from "preact/hooks";
import { deleteObject, getObject, objectContentUrl, updateObject } from "../../api/objects.js";
import { Badge, Button, Field } from "../../components/controls.jsx";
import { Confirm, Modal } from "../../components/modal.jsx";
import { ErrorBox, Loading, Page } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { ago, bytes, datetime, number } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link, navigate } from "../../router.jsx";
import { kindOf } from "./names.js";
import { Crumbs } from "./nav.jsx";
import { PreviewPanel } from "./preview.jsx";
import { DropOverlay, FilePicker, UploadList, stageFiles, startUpload, useAfterUpload, useFileDrop, useTenantUploads } from "./uploads.jsx";

const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function snippet(name, contentType) {
  const kind = kindOf(name, contentType);
  const call = kind === "CSV" ? "read_csv" : kind === "TSV" ? "read_csv" : kind.startsWith("JSON") ? "read_json" : "load";
  const extra = kind === "TSV" ? ', sep="\\t"' : "";
  return `from suricate import sdk\n\n${call === "load" ? "obj" : "df"} = sdk.${call}("${name}"${extra})`;
}

export function ObjectView({ name }) {
  const [obj, error, reload] = usePoll(() => getObject(name), 0, [name]);
  useAfterUpload(reload);
  const mine = useTenantUploads((u) => u.fixed && u.name === name);
  // ?version=3 (a link from a model's lineage) previews that version.
  const [previewVersion, setPreviewVersion] = useState(() => Number(new URLSearchParams(location.search).get("version")) || null);
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
        <Page title={name}>
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
