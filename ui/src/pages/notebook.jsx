// The notebook editor: cells in CodeMirror, a live kernel session over a WebSocket, autosave
// with revision checks, export, rename and "run as job". A `Model` outside Preact holds the
// notebook, the run queue and the kernel connection; the components draw it.
import "./notebook.css";
import { memo } from "preact/compat";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { API, ApiError, cookie, get, post, put } from "../api.js";
import { createEditor } from "../editor.js";
import { Markdown, Outputs, appendOutput, joined } from "../outputs.jsx";
import { ago } from "../format.js";
import { Link, navigate } from "../router.jsx";
import { Button, ErrorBox, Field, Loading, Modal, toast } from "../ui.jsx";

const SAVE_DELAY = 2000; // after the last edit
const SAVE_MAX_WAIT = 20000; // however busy the kernel or the typist

function newId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A cell as the editor keeps it: nbformat v4, with its source as one string and an id. */
function fromNb(cell) {
  const c = { ...cell, id: cell.id || newId(), source: joined(cell.source), metadata: cell.metadata || {} };
  if (c.cell_type === "code") {
    c.outputs = c.outputs || [];
    c.execution_count = c.execution_count ?? null;
  }
  return c;
}

function blankCell(type) {
  const cell = { id: newId(), cell_type: type, metadata: {}, source: "" };
  if (type === "code") Object.assign(cell, { outputs: [], execution_count: null });
  return cell;
}

function retyped(cell, type) {
  const { outputs, execution_count, attachments, ...rest } = cell;
  const next = { ...rest, cell_type: type };
  if (type === "code") Object.assign(next, { outputs: [], execution_count: null });
  if (type === "markdown" && attachments) next.attachments = attachments;
  return next;
}

export class Model {
  constructor(id) {
    this.id = id;
    this.listeners = new Set();
    this.info = null; // id, name, kind, revision, updated_at
    this.base = null; // the notebook without its cells (metadata, nbformat)
    this.cells = [];
    this.loadError = null;
    this.active = null; // the selected cell
    this.editing = null; // the cell in edit mode (its editor has the keyboard)
    this.focusReq = null;
    this.run = {}; // cell id -> "queued" | "running"
    this.errors = {}; // cell id -> a message shown in place (not saved)
    this.queue = [];
    this.current = null;
    this.kernel = "none"; // starting, connecting, idle, busy, restarting, dead, disconnected
    this.kernelError = null;
    this.session = null;
    this.ws = null;
    this.dirty = false;
    this.saving = null; // the save in flight
    this.saveError = null;
    this.conflict = null;
    this.dirtySince = 0;
    this.timer = null;
    this.deleted = [];
    this.editors = new Map();
    this.elements = new Map();
    this.disposed = false;
  }

  // -- plumbing --------------------------------------------------------------------------------
  emit() {
    if (this.emitting) return;
    this.emitting = true;
    queueMicrotask(() => {
      this.emitting = false;
      this.listeners.forEach((l) => l());
    });
  }

  index(id) {
    return this.cells.findIndex((c) => c.id === id);
  }

  cell(id) {
    return this.cells.find((c) => c.id === id);
  }

  patch(id, changes) {
    this.cells = this.cells.map((c) => (c.id === id ? { ...c, ...changes } : c));
  }

  // -- loading and saving ----------------------------------------------------------------------
  async open() {
    try {
      this.apply(await get(`/notebooks/${encodeURIComponent(this.id)}`));
      const first = this.cells[0];
      // A new notebook: the keyboard goes straight into its first cell.
      if (this.cells.length === 1 && !first.source && first.cell_type === "code") this.select(first.id, "edit");
    } catch (e) {
      this.loadError = e;
    }
    this.emit();
    if (!this.loadError) this.ensureKernel().catch(() => {});
  }

  apply(detail) {
    const { cells, ...base } = detail.notebook;
    this.info = { id: detail.id, name: detail.name, kind: detail.kind, revision: detail.revision, updated_at: detail.updated_at };
    this.base = { ...base, nbformat: 4, nbformat_minor: Math.max(base.nbformat_minor || 0, 5) };
    this.cells = (cells || []).map(fromNb);
    if (!this.cells.length) this.cells = [blankCell("code")];
    if (!this.cell(this.active)) this.active = this.cells[0].id;
  }

  content() {
    return { ...this.base, cells: this.cells };
  }

  changed(delay = SAVE_DELAY) {
    if (!this.dirty) this.dirtySince = Date.now();
    this.dirty = true;
    this.saveError = null;
    this.schedule(delay);
    this.emit();
  }

  schedule(delay) {
    clearTimeout(this.timer);
    const wait = Math.min(delay, Math.max(0, this.dirtySince + SAVE_MAX_WAIT - Date.now()));
    this.timer = setTimeout(() => this.save(false), wait);
  }

  /** Save now (force) or when nothing is running, as the next revision of the one we have. */
  async save(force = true) {
    if (this.conflict || this.disposed) return;
    if (this.saving) {
      await this.saving.catch(() => {});
      if (this.dirty) return this.save(force);
      return;
    }
    if (!this.dirty) return;
    if (!force && this.current && Date.now() - this.dirtySince < SAVE_MAX_WAIT) {
      this.schedule(1000); // outputs are still coming: save once the cell is done
      return;
    }
    clearTimeout(this.timer);
    this.dirty = false;
    const body = { notebook: this.content(), revision: this.info.revision };
    this.saving = put(`/notebooks/${encodeURIComponent(this.info.id)}`, body);
    this.emit();
    try {
      const saved = await this.saving;
      this.info = { ...this.info, revision: saved.revision, updated_at: saved.updated_at, name: saved.name };
    } catch (e) {
      this.dirty = true;
      if (e.status === 409) {
        this.conflict = { message: e.message, revision: null };
        get(`/notebooks/${encodeURIComponent(this.info.id)}/revisions`, { limit: 1 })
          .then((page) => this.conflict && ((this.conflict = { ...this.conflict, ...page.items[0] }), this.emit()))
          .catch(() => {});
      } else {
        this.saveError = e;
        if (e.status === 0 || e.status >= 500) this.schedule(10000);
      }
    } finally {
      this.saving = null;
      this.emit();
    }
    if (this.dirty && !this.conflict && !this.saveError) this.schedule(SAVE_DELAY);
  }

  /** Throw away the local changes and load the latest revision. */
  async reload() {
    const detail = await get(`/notebooks/${encodeURIComponent(this.info.id)}`);
    this.conflict = null;
    this.dirty = false;
    this.saveError = null;
    clearTimeout(this.timer);
    this.apply(detail);
    this.emit();
  }

  /** Keep the local version: save it on top of the latest revision. */
  async overwrite() {
    const latest = await get(`/notebooks/${encodeURIComponent(this.info.id)}`);
    this.info = { ...this.info, revision: latest.revision };
    this.conflict = null;
    this.dirty = true;
    await this.save(true);
  }

  async rename(name) {
    const saved = await put(`/notebooks/${encodeURIComponent(this.info.id)}`, { name });
    this.info = { ...this.info, name: saved.name };
    this.emit();
  }

  saveState() {
    if (this.conflict) return ["conflict", "Not saved: changed elsewhere"];
    if (this.saving) return ["saving", "Saving…"];
    if (this.saveError) return ["failed", "Not saved: " + this.saveError.message];
    if (this.dirty) return ["dirty", "Unsaved changes"];
    return ["saved", `Saved · revision ${this.info.revision}`];
  }

  // -- selection and focus ---------------------------------------------------------------------
  select(id, mode = "command", focus = true, where) {
    if (!this.cell(id)) return;
    const editing = mode === "edit" ? id : null;
    const changed = this.active !== id || this.editing !== editing;
    this.active = id;
    this.editing = editing;
    if (focus) {
      this.focusReq = { id, mode, where };
      this.applyFocus(); // at once when the cell is on the page: the next key must land there
    }
    if (changed || focus) this.emit();
  }

  neighbour(id, delta, mode) {
    const next = this.cells[this.index(id) + delta];
    if (!next) return false;
    const edit = mode === "edit" && next.cell_type === "code";
    this.select(next.id, edit ? "edit" : "command", true, delta < 0 ? "end" : "start");
    return true;
  }

  /** Move the keyboard to where the last action asked, once the cell is on the page. */
  applyFocus() {
    const req = this.focusReq;
    if (!req) return;
    if (req.mode === "edit") {
      const view = this.editors.get(req.id);
      if (!view) return;
      this.focusReq = null;
      if (req.where) view.focusAt(req.where);
      else view.focus();
      view.dom.scrollIntoView({ block: "nearest" });
    } else {
      const el = this.elements.get(req.id);
      if (!el) return;
      this.focusReq = null;
      el.focus({ preventScroll: true });
      el.scrollIntoView({ block: "nearest" });
    }
  }

  // -- editing cells ---------------------------------------------------------------------------
  setSource(id, text) {
    const cell = this.cell(id);
    if (!cell || cell.source === text) return;
    this.patch(id, { source: text });
    this.changed();
  }

  insert(at, type = "code", mode = "edit") {
    const cell = blankCell(type);
    this.cells = [...this.cells.slice(0, at), cell, ...this.cells.slice(at)];
    this.select(cell.id, mode);
    this.changed();
    return cell;
  }

  insertNear(id, delta, mode = "edit") {
    const i = this.index(id);
    return this.insert(i < 0 ? this.cells.length : i + (delta > 0 ? 1 : 0), "code", mode);
  }

  remove(id) {
    const i = this.index(id);
    if (i < 0) return;
    this.deleted.push({ cell: this.cells[i], at: i });
    this.dequeue(id);
    this.cells = this.cells.filter((c) => c.id !== id);
    if (!this.cells.length) this.cells = [blankCell("code")];
    const next = this.cells[Math.min(i, this.cells.length - 1)];
    this.select(next.id, "command");
    this.changed();
  }

  undoRemove() {
    const last = this.deleted.pop();
    if (!last) return;
    this.cells = [...this.cells.slice(0, last.at), last.cell, ...this.cells.slice(last.at)];
    this.select(last.cell.id, "command");
    this.changed();
  }

  move(id, delta) {
    const i = this.index(id);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= this.cells.length) return;
    const cells = [...this.cells];
    [cells[i], cells[j]] = [cells[j], cells[i]];
    this.cells = cells;
    this.changed();
    this.select(id, this.editing === id ? "edit" : "command");
  }

  /** Change a cell's type; `edit` opens its editor (as when picked from a menu). */
  setType(id, type, edit = false) {
    const cell = this.cell(id);
    if (!cell || cell.cell_type === type) return;
    this.dequeue(id);
    this.cells = this.cells.map((c) => (c.id === id ? retyped(c, type) : c));
    if (edit || this.editing === id) this.select(id, "edit", true, "end");
    this.changed();
  }

  toggleParameters(id) {
    const cell = this.cell(id);
    const tags = cell.metadata.tags || [];
    const next = tags.includes("parameters") ? tags.filter((t) => t !== "parameters") : [...tags, "parameters"];
    const metadata = { ...cell.metadata, tags: next };
    if (!next.length) delete metadata.tags;
    this.patch(id, { metadata });
    this.changed();
  }

  clearOutputs(ids = this.cells.map((c) => c.id)) {
    let any = false;
    for (const id of ids) {
      const cell = this.cell(id);
      if (cell && cell.cell_type === "code" && (cell.outputs.length || cell.execution_count !== null)) {
        this.patch(id, { outputs: [], execution_count: null });
        delete this.errors[id];
        any = true;
      }
    }
    if (any) this.changed();
  }

  // -- running ---------------------------------------------------------------------------------
  runCell(id, advance) {
    const i = this.index(id);
    if (i < 0) return;
    const cell = this.cells[i];
    if (cell.cell_type === "code") this.enqueue(id);
    if (!advance) {
      if (cell.cell_type !== "code") this.select(id, "command");
      return;
    }
    const next = this.cells[i + 1];
    if (!next) this.insert(i + 1, "code", "edit");
    else this.select(next.id, next.cell_type === "code" ? "edit" : "command", true, "start");
  }

  runAll() {
    if (this.editing && this.cell(this.editing)?.cell_type !== "code") this.editing = null;
    this.cells.forEach((c) => c.cell_type === "code" && this.enqueue(c.id));
    this.emit();
  }

  enqueue(id) {
    const cell = this.cell(id);
    if (!cell || this.run[id]) return;
    delete this.errors[id];
    if (!cell.source.trim()) {
      this.clearOutputs([id]); // as in Jupyter: an empty cell runs nothing
      return;
    }
    this.run[id] = "queued";
    this.queue.push(id);
    this.emit();
    this.pump();
  }

  dequeue(id) {
    if (this.run[id] === "queued") delete this.run[id];
    this.queue = this.queue.filter((q) => q !== id);
  }

  cancelQueue() {
    for (const id of this.queue) delete this.run[id];
    this.queue = [];
  }

  async pump() {
    if (this.current || this.pumping || !this.queue.length) return;
    this.pumping = true;
    try {
      await this.ensureKernel();
    } catch (e) {
      this.kernelError = e;
      this.cancelQueue();
      this.emit();
      return;
    } finally {
      this.pumping = false;
    }
    if (this.current) return;
    if (!this.ws) {
      this.cancelQueue();
      this.emit();
      return;
    }
    const id = this.queue.shift();
    if (!id) return;
    const cell = this.cell(id);
    if (!cell || this.run[id] !== "queued") return this.pump();
    this.current = id;
    this.run[id] = "running";
    this.patch(id, { outputs: [], execution_count: null });
    this.kernel = "busy";
    this.ws.send(JSON.stringify({ type: "execute", code: cell.source, cell: id }));
    this.emit();
  }

  /** The cell that ran stopped: keep its count and outputs, then run the next one. */
  finish(id, failed, message) {
    if (id !== this.current) return;
    this.current = null;
    delete this.run[id];
    if (message) this.errors[id] = message;
    if (failed) this.cancelQueue(); // as in Jupyter: an error stops "run all"
    this.changed();
    this.pump();
  }

  onEvent(event) {
    switch (event.type) {
      case "status": {
        const state = event.execution_state;
        if (state === "dead") {
          this.session = null;
          this.kernel = "dead";
          if (this.current) this.finish(this.current, true, "The kernel stopped.");
          this.ws?.close();
        } else if (state === "restarted") {
          if (this.kernel !== "restarting") this.kernel = "idle";
        } else if (this.kernel !== "restarting") {
          this.kernel = state === "busy" || this.current ? "busy" : "idle";
        }
        break;
      }
      case "output":
        if (event.cell && event.cell === this.current && this.cell(event.cell)) {
          this.patch(event.cell, { outputs: appendOutput(this.cell(event.cell).outputs, event.output) });
          this.changed();
        }
        break;
      case "result": {
        const cell = this.cell(event.cell);
        if (!cell || event.cell !== this.current) break;
        this.patch(cell.id, { execution_count: event.execution_count ?? null });
        const failed = event.status === "error";
        const shown = this.cell(cell.id).outputs.some((o) => o.output_type === "error");
        const message = failed && !shown ? `${event.ename || "Error"}: ${event.evalue || "the cell failed"}` : null;
        this.finish(cell.id, failed, message);
        break;
      }
      case "error":
        if (event.code === "session_not_found") {
          this.session = null;
          this.kernel = "dead";
        }
        if (event.cell && event.cell === this.current) this.finish(event.cell, true, event.message);
        else this.kernelError = new ApiError(0, event.code, event.message);
        break;
      default:
        return;
    }
    this.emit();
  }

  // -- the kernel session ----------------------------------------------------------------------
  ensureKernel() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = null;
        this.emit();
      });
    }
    return this.starting;
  }

  async start() {
    this.kernelError = null;
    if (this.session) {
      this.kernel = "connecting";
      this.emit();
      try {
        await this.connect();
        return;
      } catch {
        this.session = null; // gone (culled, or the server restarted): start another
      }
    }
    this.kernel = "starting";
    this.emit();
    try {
      const session = await post("/sessions", { notebook_id: this.info.id });
      if (this.disposed) {
        this.stopSession(session.id);
        throw new Error("the editor was closed");
      }
      this.session = session.id;
      await this.connect();
    } catch (e) {
      this.kernel = "dead";
      this.kernelError = e;
      throw e;
    }
  }

  connect() {
    return new Promise((resolve, reject) => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${scheme}://${location.host}${API}/sessions/${this.session}/ws`);
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.ws = ws;
        this.kernel = "idle";
        this.emit();
        resolve();
      };
      ws.onmessage = (m) => {
        try {
          this.onEvent(JSON.parse(m.data));
        } catch (e) {
          console.error("bad kernel event", e);
        }
      };
      ws.onclose = (e) => {
        if (!opened) {
          reject(new Error(e.reason || "the kernel connection was refused"));
          return;
        }
        if (this.ws === ws) this.ws = null;
        if (this.disposed) return;
        if (this.current) this.finish(this.current, true, "Lost the connection to the kernel.");
        this.cancelQueue();
        if (this.kernel !== "dead") this.kernel = "disconnected";
        this.emit();
      };
    });
  }

  async interrupt() {
    this.cancelQueue();
    this.emit();
    if (!this.session) return;
    try {
      await post(`/sessions/${this.session}/interrupt`);
    } catch (e) {
      toast("Interrupt failed: " + e.message, "bad");
    }
  }

  async restart() {
    this.cancelQueue();
    if (this.current) {
      delete this.run[this.current];
      this.current = null;
    }
    if (!this.session || !this.ws) {
      this.emit();
      await this.ensureKernel().catch(() => {});
      return;
    }
    this.kernel = "restarting";
    this.kernelError = null;
    this.emit();
    try {
      await post(`/sessions/${this.session}/restart`);
      this.kernel = "idle";
      toast("Kernel restarted");
    } catch (e) {
      this.kernel = "dead";
      this.kernelError = e;
    }
    this.emit();
  }

  stopSession(id, keepalive = false) {
    const url = `${API}/sessions/${id}`;
    fetch(url, {
      method: "DELETE",
      keepalive,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": cookie("suricate_csrf") || "" },
    }).catch(() => {});
  }

  /** Leave: save what is unsaved and stop the kernel (best effort when the tab closes). */
  close(unloading = false) {
    if (this.disposed) return;
    if (this.dirty && this.info && !this.conflict) {
      clearTimeout(this.timer);
      if (unloading) {
        fetch(`${API}/notebooks/${encodeURIComponent(this.info.id)}`, {
          method: "PUT",
          keepalive: true,
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": cookie("suricate_csrf") || "" },
          body: JSON.stringify({ notebook: this.content(), revision: this.info.revision }),
        }).catch(() => {});
      } else this.save(true);
    }
    this.disposed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    if (this.session) this.stopSession(this.session, unloading);
    this.session = null;
  }
}

function useModel(model) {
  const [, force] = useState(0);
  useEffect(() => {
    const listener = () => force((n) => n + 1);
    model.listeners.add(listener);
    return () => model.listeners.delete(listener);
  }, [model]);
}

// -- icons ---------------------------------------------------------------------------------------
const ICONS = {
  play: ["M5 3.2v9.6l7.6-4.8z", true],
  runAll: ["M1.8 3.4v9.2l6-4.6zM8.4 3.4v9.2l6-4.6z", true],
  stop: ["M4 4h8v8H4z", true],
  restart: ["M13 8a5 5 0 1 1-1.6-3.7M13.2 2.6v3h-3", false],
  up: ["M4 10l4-4 4 4", false],
  down: ["M4 6l4 4 4-4", false],
  plus: ["M8 3v10M3 8h10", false],
  above: ["M2.5 13h11M8 2.5v7M4.5 6h7", false],
  below: ["M2.5 3h11M8 6.5v7M4.5 10h7", false],
  trash: ["M3 4.5h10M6.3 4.5V3h3.4v1.5M4.5 4.5l.7 8.5h5.6l.7-8.5", false],
  clear: ["M3 3l10 10M13 3L3 13", false],
  download: ["M8 2.5v8M4.5 7.5 8 11l3.5-3.5M3 13.5h10", false],
  job: ["M3 3.5h10v9H3zM3 6.5h10M6 9.5h4", false],
};

function Icon({ name }) {
  const [d, filled] = ICONS[name];
  return (
    <svg class={"nb-icon" + (filled ? " filled" : "")} viewBox="0 0 16 16" aria-hidden="true">
      <path d={d} />
    </svg>
  );
}

function IconButton({ icon, label, onClick, disabled, pressed }) {
  return (
    <button type="button" class="nb-icon-btn" aria-label={label} title={label} onClick={onClick} disabled={disabled} aria-pressed={pressed}>
      <Icon name={icon} />
    </button>
  );
}

// -- a cell --------------------------------------------------------------------------------------
const TYPES = [
  ["code", "Code"],
  ["markdown", "Markdown"],
  ["raw", "Raw"],
];

function CellToolbar({ model, cell, index, total }) {
  const params = (cell.metadata.tags || []).includes("parameters");
  return (
    <div class="cell-toolbar" onMouseDown={(e) => e.stopPropagation()}>
      {cell.cell_type === "code" && (
        <button
          type="button"
          class={"cell-tag-btn" + (params ? " on" : "")}
          aria-pressed={params}
          title="The parameters cell: a run's parameters are set just after it"
          onClick={() => model.toggleParameters(cell.id)}
        >
          parameters
        </button>
      )}
      <select aria-label="Cell type" value={cell.cell_type} onChange={(e) => model.setType(cell.id, e.target.value, true)}>
        {TYPES.map(([v, l]) => (
          <option value={v}>{l}</option>
        ))}
      </select>
      <IconButton icon="up" label="Move cell up" disabled={index === 0} onClick={() => model.move(cell.id, -1)} />
      <IconButton icon="down" label="Move cell down" disabled={index === total - 1} onClick={() => model.move(cell.id, 1)} />
      <IconButton icon="above" label="Insert cell above" onClick={() => model.insertNear(cell.id, -1)} />
      <IconButton icon="below" label="Insert cell below" onClick={() => model.insertNear(cell.id, 1)} />
      <IconButton icon="trash" label="Delete cell" onClick={() => model.remove(cell.id)} />
    </div>
  );
}

let lastKey = { key: null, at: 0 };

/** Command mode (a selected cell, no editor focused): Jupyter's single keys. */
function commandKey(model, cell, e) {
  const mod = e.ctrlKey || e.metaKey;
  const twice = lastKey.key === e.key && Date.now() - lastKey.at < 600;
  lastKey = { key: e.key, at: Date.now() };
  if (e.key === "Enter" && e.shiftKey) model.runCell(cell.id, true);
  else if (e.key === "Enter" && mod) model.runCell(cell.id, false);
  else if (e.key === "Enter") model.select(cell.id, "edit", true, "end");
  else if (mod || e.altKey) return false;
  else if (e.key === "ArrowUp" || e.key === "k") model.neighbour(cell.id, -1, "command");
  else if (e.key === "ArrowDown" || e.key === "j") model.neighbour(cell.id, 1, "command");
  else if (e.key === "a") model.insertNear(cell.id, -1, "command");
  else if (e.key === "b") model.insertNear(cell.id, 1, "command");
  else if (e.key === "m") model.setType(cell.id, "markdown");
  else if (e.key === "y") model.setType(cell.id, "code");
  else if (e.key === "r") model.setType(cell.id, "raw");
  else if (e.key === "z") model.undoRemove();
  else if (e.key === "d" && twice) {
    lastKey = { key: null, at: 0 };
    model.remove(cell.id);
  } else if (e.key === "i" && twice) model.interrupt();
  else if (e.key === "0" && twice) model.restart();
  else return e.key === "d" || e.key === "i" || e.key === "0";
  return true;
}

function prompt(cell, state) {
  if (cell.cell_type !== "code") return "";
  if (state) return "[*]";
  return `[${cell.execution_count ?? " "}]`;
}

const Cell = memo(function Cell({ model, cell, index, total, active, editing, state, error }) {
  const host = useRef();
  const root = useRef();
  const view = useRef(null);
  const keys = useRef({}).current;
  const isCode = cell.cell_type === "code";
  const showEditor = isCode || editing;
  Object.assign(keys, {
    run: (advance) => model.runCell(cell.id, advance),
    save: () => model.save(true),
    escape: () => model.select(cell.id, "command"),
    up: () => model.neighbour(cell.id, -1, "edit"),
    down: () => model.neighbour(cell.id, 1, "edit"),
    change: (text) => model.setSource(cell.id, text),
    focus: () => model.select(cell.id, "edit", false),
  });

  // Layout effects: the editor and the focus must be in place before the next key arrives.
  useLayoutEffect(() => {
    model.elements.set(cell.id, root.current);
    return () => model.elements.delete(cell.id);
  }, [cell.id]);

  useLayoutEffect(() => {
    if (!showEditor) return undefined;
    const v = createEditor({ parent: host.current, doc: cell.source, type: isCode ? "code" : "markdown", keys });
    view.current = v;
    model.editors.set(cell.id, v);
    model.applyFocus();
    return () => {
      v.destroy();
      view.current = null;
      if (model.editors.get(cell.id) === v) model.editors.delete(cell.id);
    };
  }, [showEditor]);

  useLayoutEffect(() => view.current && view.current.setText(cell.source), [cell.source]);
  useLayoutEffect(() => view.current && view.current.setType(isCode ? "code" : "markdown"), [isCode]);

  const onKeyDown = (e) => {
    if (e.target !== root.current) return;
    if (commandKey(model, cell, e)) e.preventDefault();
  };
  const onMouseDown = (e) => {
    if (e.target.closest(".cm-editor, button, select, input, a, iframe")) return;
    model.select(cell.id, editing ? "edit" : "command", !editing);
  };
  const running = state === "running";
  const cls = ["cell", `cell-${cell.cell_type}`, active && "active", editing && "editing", state && `cell-${state}`]
    .filter(Boolean)
    .join(" ");
  const params = (cell.metadata.tags || []).includes("parameters");
  return (
    <div
      ref={root}
      class={cls}
      data-cell-id={cell.id}
      tabIndex={-1}
      role="group"
      aria-label={`${cell.cell_type === "code" ? "Code" : cell.cell_type === "markdown" ? "Markdown" : "Raw"} cell ${index + 1}`}
      onKeyDown={onKeyDown}
      onMouseDown={onMouseDown}
    >
      <div class="cell-prompt" title={running ? "Running" : state === "queued" ? "Queued" : undefined}>
        {prompt(cell, state)}
        {isCode && (
          <button type="button" class="cell-run" aria-label="Run cell" title="Run (Ctrl+Enter)" onClick={() => model.runCell(cell.id, false)}>
            <Icon name="play" />
          </button>
        )}
      </div>
      <div class="cell-main">
        <div class="cell-input">
          {showEditor ? (
            <div class="cell-editor" ref={host} />
          ) : (
            <div
              class="cell-rendered"
              title="Double-click (or Enter) to edit"
              onDblClick={() => model.select(cell.id, "edit", true, "end")}
            >
              {cell.cell_type === "raw" ? (
                <pre class="cell-raw">{cell.source}</pre>
              ) : cell.source.trim() ? (
                <Markdown source={cell.source} />
              ) : (
                <p class="muted cell-empty">Empty markdown cell · double-click to write</p>
              )}
            </div>
          )}
          {params && <span class="cell-tag">parameters</span>}
          {active && <CellToolbar model={model} cell={cell} index={index} total={total} />}
        </div>
        {error && (
          <div class="cell-error" role="alert">
            {error}
          </div>
        )}
        {isCode && <Outputs outputs={cell.outputs} />}
      </div>
    </div>
  );
});

// -- header, toolbar, dialogs --------------------------------------------------------------------
const KERNEL_LABEL = {
  none: ["muted", "No kernel"],
  starting: ["run", "Starting…"],
  connecting: ["run", "Connecting…"],
  idle: ["ok", "Idle"],
  busy: ["run", "Busy"],
  restarting: ["wait", "Restarting…"],
  dead: ["bad", "Stopped"],
  disconnected: ["bad", "Disconnected"],
};

function KernelStatus({ model }) {
  const [kind, label] = KERNEL_LABEL[model.kernel] || KERNEL_LABEL.none;
  return (
    <span class="kernel-status" title="Python 3 kernel" aria-live="polite">
      <span class="kernel-name">Python 3</span>
      <span class={`badge badge-${kind} kernel-badge`} data-state={model.kernel}>
        <span class={`kernel-dot dot-${kind}`} aria-hidden="true" />
        {label}
      </span>
    </span>
  );
}

function Toolbar({ model }) {
  const active = model.cell(model.active);
  const busy = Boolean(model.current || model.queue.length);
  const down = ["dead", "disconnected", "none"].includes(model.kernel);
  return (
    <div class="nb-toolbar" role="toolbar" aria-label="Notebook">
      <Button small onClick={() => active && model.runCell(active.id, true)} title="Run the selected cell and select the next (Shift+Enter)">
        <Icon name="play" /> Run
      </Button>
      <Button small onClick={() => model.runAll()} title="Run every code cell from the top">
        <Icon name="runAll" /> Run all
      </Button>
      <Button small onClick={() => model.interrupt()} disabled={!busy} title="Interrupt the kernel (I, I)">
        <Icon name="stop" /> Interrupt
      </Button>
      <Button small onClick={() => model.restart()} disabled={model.kernel === "restarting" || model.kernel === "starting"} title="Restart the kernel: variables are lost (0, 0)">
        <Icon name="restart" /> {down ? "Start kernel" : "Restart"}
      </Button>
      <span class="nb-sep" />
      <Button small onClick={() => model.insertNear(model.active, 1)} title="Insert a code cell below (B)">
        <Icon name="plus" /> Cell
      </Button>
      <select
        class="nb-type"
        aria-label="Selected cell type"
        value={active?.cell_type || "code"}
        onChange={(e) => active && model.setType(active.id, e.target.value, true)}
      >
        {TYPES.map(([v, l]) => (
          <option value={v}>{l}</option>
        ))}
      </select>
      <Button small kind="ghost" onClick={() => model.clearOutputs()} title="Clear every cell's outputs">
        <Icon name="clear" /> Clear outputs
      </Button>
      <span class="spacer" />
      <KernelStatus model={model} />
    </div>
  );
}

function SaveStatus({ model }) {
  const [state, text] = model.saveState();
  return (
    <span class={"nb-save nb-save-" + state} role="status" title={state === "saved" ? "Saved automatically" : undefined}>
      {state === "saving" && <span class="spinner" aria-hidden="true" />}
      {text}
    </span>
  );
}

function Title({ model }) {
  const input = useRef();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const start = () => {
    setName(model.info.name);
    setError(null);
    setEditing(true);
  };
  const submit = async (e) => {
    e.preventDefault();
    if (name === model.info.name) return setEditing(false);
    setBusy(true);
    try {
      await model.rename(name.trim());
      setEditing(false);
      toast(`Renamed to ${name.trim()}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    if (editing && input.current) input.current.select();
  }, [editing]);
  if (!editing) {
    return (
      <h1 class="nb-title">
        <button type="button" class="nb-name" title="Rename" aria-label={`Rename notebook ${model.info.name}`} onClick={start}>
          {model.info.name}
        </button>
      </h1>
    );
  }
  return (
    <form class="nb-rename" onSubmit={submit}>
      <input
        aria-label="Notebook name"
        value={name}
        ref={input}
        onInput={(e) => setName(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && setEditing(false)}
      />
      <Button small kind="primary" type="submit" busy={busy}>
        Rename
      </Button>
      <Button small onClick={() => setEditing(false)}>
        Cancel
      </Button>
      {error && <ErrorBox error={error} />}
    </form>
  );
}

function RunJobDialog({ model, onClose }) {
  const [text, setText] = useState("{}");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [run, setRun] = useState(null);
  const hasParams = model.cells.some((c) => (c.metadata.tags || []).includes("parameters"));
  const submit = async (e) => {
    e.preventDefault();
    let parameters;
    try {
      parameters = JSON.parse(text || "{}");
      if (!parameters || typeof parameters !== "object" || Array.isArray(parameters)) throw new Error();
    } catch {
      setError('Parameters must be a JSON object, such as {"season": 2013}.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await model.save(true);
      if (model.conflict || model.saveError) throw model.conflict || model.saveError;
      setRun(await post(`/notebooks/${encodeURIComponent(model.info.id)}/runs`, { parameters }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Run as a job"
      onClose={onClose}
      footer={
        run ? (
          <>
            <Button onClick={onClose}>Close</Button>
            <Button kind="primary" onClick={() => navigate(`/runs/${run.id}`)}>
              Open the run
            </Button>
          </>
        ) : (
          <>
            <Button onClick={onClose}>Cancel</Button>
            <Button kind="primary" type="submit" form="run-job" busy={busy}>
              Start run
            </Button>
          </>
        )
      }
    >
      {run ? (
        <p>
          Run <Link href={`/runs/${run.id}`}>{run.id.slice(0, 8)}</Link> of revision {run.notebook_revision} is {run.status}. It runs
          in a fresh kernel; this editor's kernel is not touched.
        </p>
      ) : (
        <form id="run-job" onSubmit={submit}>
          <p class="muted">
            Runs the saved notebook from top to bottom in a fresh kernel, as the REST API and schedules do.
          </p>
          <Field
            label="Parameters (JSON)"
            hint={
              hasParams
                ? "Set as variables just after the cell tagged “parameters”."
                : "Tag a cell “parameters” (cell toolbar) to give its variables defaults; these are set after it."
            }
          >
            <textarea rows={5} value={text} onInput={(e) => setText(e.target.value)} spellcheck={false} />
          </Field>
          <ErrorBox error={error} />
        </form>
      )}
    </Modal>
  );
}

const SHORTCUTS = [
  ["Shift+Enter", "Run the cell and select the next (adds one at the end)"],
  ["Ctrl+Enter", "Run the cell in place"],
  ["Ctrl+S", "Save now"],
  ["Esc / Enter", "Leave / enter the cell's editor"],
  ["↑ ↓ (or J K)", "Select the cell above / below"],
  ["A / B", "Insert a cell above / below"],
  ["M / Y / R", "Make the cell Markdown / code / raw"],
  ["D, D / Z", "Delete the cell / undo the delete"],
  ["I, I / 0, 0", "Interrupt / restart the kernel"],
  ["Tab", "Complete a name (indent elsewhere)"],
];

function ShortcutsDialog({ onClose }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <table class="table nb-keys">
        <tbody>
          {SHORTCUTS.map(([k, v]) => (
            <tr>
              <td>
                <kbd>{k}</kbd>
              </td>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">Single keys work when a cell is selected and its editor is not focused (press Esc).</p>
    </Modal>
  );
}

function ConflictBanner({ model }) {
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const go = async (what) => {
    setBusy(what);
    setError(null);
    try {
      await (what === "reload" ? model.reload() : model.overwrite());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div class="nb-conflict" role="alert">
      <div>
        <strong>This notebook was changed elsewhere</strong>
        {model.conflict.revision
          ? ` (revision ${model.conflict.revision}, saved ${ago(model.conflict.created_at)}).`
          : "."}{" "}
        Your changes here are not saved. Reload the latest revision (your changes are lost), or keep yours and save them over it
        as the next revision.
      </div>
      <div class="row">
        <Button small kind="primary" busy={busy === "reload"} onClick={() => go("reload")}>
          Reload the latest
        </Button>
        <Button small busy={busy === "overwrite"} onClick={() => go("overwrite")}>
          Keep mine (save over it)
        </Button>
      </div>
      <ErrorBox error={error} />
    </div>
  );
}

export function NotebookEditor({ id }) {
  const model = useMemo(() => new Model(id), [id]);
  const [dialog, setDialog] = useState(null);
  useModel(model);

  useEffect(() => {
    model.open();
    const unload = () => model.close(true);
    const onKey = (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        if (model.info) model.save(true);
      }
    };
    window.addEventListener("pagehide", unload);
    window.addEventListener("beforeunload", unload);
    document.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("pagehide", unload);
      window.removeEventListener("beforeunload", unload);
      document.removeEventListener("keydown", onKey);
      model.close();
    };
  }, [model]);

  useLayoutEffect(() => model.applyFocus());
  const name = model.info?.name;
  useEffect(() => {
    document.title = (name ? name + " · " : "") + "Notebook · Suricate";
  }, [name]);

  if (model.loadError) {
    return (
      <section class="page">
        <h1>Notebook</h1>
        <ErrorBox error={model.loadError} />
        <p>
          <Link href="/notebooks">Back to the notebooks</Link>
        </p>
      </section>
    );
  }
  if (!model.info) return <Loading label="Opening the notebook…" />;

  const exportIpynb = async (e) => {
    if (!model.dirty) return;
    e.preventDefault();
    const link = e.currentTarget;
    await model.save(true);
    link.click();
  };
  return (
    <section class="page wide nb-page">
      <header class="nb-head">
        <div class="nb-head-main">
          <nav class="nb-crumbs" aria-label="Breadcrumb">
            <Link href="/notebooks">Notebooks</Link>
            <span aria-hidden="true">/</span>
            <span class={"nb-kind nb-kind-" + model.info.kind}>{model.info.kind}</span>
          </nav>
          <Title model={model} />
        </div>
        <div class="nb-head-side">
          <SaveStatus model={model} />
          <a
            class="btn btn-small"
            href={`${API}/notebooks/${encodeURIComponent(model.info.id)}/ipynb`}
            download={`${model.info.name}.ipynb`}
            onClick={exportIpynb}
          >
            <Icon name="download" /> Export .ipynb
          </a>
          <Button small onClick={() => setDialog("run")}>
            <Icon name="job" /> Run as job
          </Button>
          <Button small kind="ghost" aria-label="Keyboard shortcuts" title="Keyboard shortcuts" onClick={() => setDialog("keys")}>
            <kbd>?</kbd>
          </Button>
        </div>
      </header>
      <Toolbar model={model} />
      {model.conflict && <ConflictBanner model={model} />}
      {model.saveError && (
        <ErrorBox error={`Saving failed: ${model.saveError.message}. Press Ctrl+S to try again.`} onClose={() => ((model.saveError = null), model.emit())} />
      )}
      {model.kernelError && (
        <ErrorBox error={`Kernel: ${model.kernelError.message}`} onClose={() => ((model.kernelError = null), model.emit())} />
      )}
      {model.info.kind === "processing" && (
        <p class="nb-hint">
          A processing notebook: try its handler here on sample messages, then deploy it on a stream from{" "}
          <Link href="/processing">Processing</Link>.
        </p>
      )}
      <div class="nb-cells">
        {model.cells.map((cell, i) => (
          <Cell
            key={cell.id}
            model={model}
            cell={cell}
            index={i}
            total={model.cells.length}
            active={model.active === cell.id}
            editing={model.editing === cell.id}
            state={model.run[cell.id]}
            error={model.errors[cell.id]}
          />
        ))}
        <div class="nb-add">
          <Button small kind="ghost" onClick={() => model.insert(model.cells.length, "code")}>
            <Icon name="plus" /> Code
          </Button>
          <Button small kind="ghost" onClick={() => model.insert(model.cells.length, "markdown")}>
            <Icon name="plus" /> Markdown
          </Button>
        </div>
      </div>
      {dialog === "run" && <RunJobDialog model={model} onClose={() => setDialog(null)} />}
      {dialog === "keys" && <ShortcutsDialog onClose={() => setDialog(null)} />}
    </section>
  );
}
