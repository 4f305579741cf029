// Uploads: the queue, dropping and picking files, and the list of uploads with their progress.
// The queue lives outside the views so uploads go on while the user looks at something else.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { uploadObject } from "../../api/objects.js";
import { bytes } from "../../format.js";
import { Link } from "../../router.jsx";
import { session } from "../../session.js";
import { signal } from "../../signal.js";
import { Button } from "../../components/controls.jsx";
import { ErrorBox } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { OBJECT_NAME_RULE, objectNameOk, objectHref } from "./names.js";

/** An object name from a file name: as it is, without what names may not hold. */
function nameFromFile(fileName) {
  const name = fileName
    .normalize("NFC")
    .replace(/[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069/]+/gu, "_")
    .trim();
  return name === "." || name === ".." || !name ? "upload" : name;
}

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

export function stageFiles(files, fixedName) {
  const tenant = session.get()?.tenant;
  const added = [...files].map((file) => ({
    id: ++uploadSeq,
    tenant,
    file,
    name: fixedName || nameFromFile(file.name),
    fixed: !!fixedName,
    state: "ready",
    fraction: 0,
    loaded: 0,
    error: null,
    controller: null,
    result: null,
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

export async function startUpload(id) {
  const u = uploads.get().find((x) => x.id === id);
  if (!u || u.state === "uploading" || !objectNameOk(u.name)) return;
  guardUnload();
  const controller = new AbortController();
  patchUpload(id, { state: "uploading", controller, fraction: 0, loaded: 0, error: null });
  try {
    const result = await uploadObject(u.name, u.file, (fraction, loaded) => patchUpload(id, { fraction, loaded }), controller.signal);
    patchUpload(id, { state: "done", fraction: 1, loaded: u.file.size, controller: null, result });
    toast(`Uploaded ${result.name} (version ${result.version})`);
    uploadsDone.set(uploadsDone.get() + 1);
  } catch (e) {
    const cancelled = e.code === "aborted";
    patchUpload(id, { state: cancelled ? "cancelled" : "error", error: cancelled ? null : e, controller: null });
  }
}

export function useTenantUploads(filter = () => true) {
  const list = uploads.use();
  const tenant = session.use()?.tenant;
  return list.filter((u) => u.tenant === tenant && filter(u));
}

/** Call fn whenever an upload finishes (not for the ones finished before the caller showed). */
export function useAfterUpload(fn) {
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
export function useFileDrop(onFiles) {
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
    const events = [
      ["dragenter", enter],
      ["dragover", overIt],
      ["dragleave", leave],
      ["drop", drop],
    ];
    events.forEach(([name, fn]) => document.addEventListener(name, fn));
    return () => events.forEach(([name, fn]) => document.removeEventListener(name, fn));
  }, []);
  return over;
}

/** Props for an element that takes dropped files itself (before the page-wide listener exists). */
export function dropHandlers(onFiles) {
  return {
    onDragOver: (e) => e.preventDefault(),
    onDrop: (e) => {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) onFiles([...e.dataTransfer.files]);
    },
  };
}

export function DropOverlay({ text }) {
  return (
    <div class="data-drop-overlay" aria-hidden="true">
      <div class="data-drop-card">
        <span class="data-drop-icon">⇪</span>
        {text}
      </div>
    </div>
  );
}

export function FilePicker({ inputRef, onFiles, multiple = true, label }) {
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
  const valid = objectNameOk(u.name);
  const prior = existing && existing.get(u.name);
  const label = `Object name for ${u.file.name}`;
  return (
    <li class={"data-upload data-upload-" + u.state}>
      <div class="data-upload-what">
        {u.state === "ready" && !u.fixed ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              startUpload(u.id);
            }}
          >
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
          <span class="data-upload-title">{u.state === "done" ? <Link href={objectHref(u.result.name)}>{u.name}</Link> : u.name}</span>
        )}
        <span class="data-upload-file muted">
          {u.state !== "ready" && u.file.name === u.name ? "" : `${u.file.name} · `}
          {bytes(u.file.size)}
          {u.state === "ready" && valid && <> · {prior ? `adds version ${prior.version + 1} of an existing object` : "new object"}</>}
        </span>
        {u.state === "ready" && !valid && <span class="data-invalid">{OBJECT_NAME_RULE}</span>}
      </div>
      <div class="data-upload-status">{u.state === "ready" ? <span class="muted">Ready to upload</span> : <UploadProgress u={u} />}</div>
      <div class="data-upload-actions">
        {u.state === "ready" && (
          <Button kind="primary" small disabled={!valid} onClick={() => startUpload(u.id)}>
            Upload
          </Button>
        )}
        {u.state === "uploading" && (
          <Button small onClick={() => u.controller.abort()}>
            Cancel
          </Button>
        )}
        {(u.state === "error" || u.state === "cancelled") && (
          <Button small onClick={() => startUpload(u.id)}>
            Retry
          </Button>
        )}
        {u.state === "done" && (
          <Link class="btn btn-small" href={objectHref(u.result.name)}>
            Open
          </Link>
        )}
        {u.state !== "uploading" && (
          <button class="icon-btn" aria-label={`Remove ${u.name} from the list`} onClick={() => removeUpload(u.id)}>
            ×
          </button>
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

export function UploadList({ items, existing, title = "Uploads" }) {
  if (!items.length) return null;
  const ready = items.filter((u) => u.state === "ready" && objectNameOk(u.name));
  const finished = items.filter((u) => u.state === "done" || u.state === "cancelled");
  return (
    <section class="panel data-uploads" aria-label={title}>
      <header class="panel-head">
        <h2>{title}</h2>
        <div class="row">
          {finished.length > 0 && (
            <Button small kind="ghost" onClick={() => finished.forEach((u) => removeUpload(u.id))}>
              Clear finished
            </Button>
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
