// Objects: the list, with uploads (drop or pick files) and filtering by name and tag.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { listObjects } from "../../api/objects.js";
import { Button } from "../../components/controls.jsx";
import { Empty, ErrorBox, Loading, Page } from "../../components/page.jsx";
import { ago, bytes, datetime, number } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link, navigate } from "../../router.jsx";
import { kindOf, objectHref } from "./names.js";
import { DataTabs } from "./nav.jsx";
import {
  DropOverlay,
  FilePicker,
  UploadList,
  dropHandlers,
  stageFiles,
  useAfterUpload,
  useFileDrop,
  useTenantUploads,
} from "./uploads.jsx";

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
