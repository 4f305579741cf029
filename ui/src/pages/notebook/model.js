// The notebook as the editor holds it, outside Preact: its cells, autosave with revision checks
// (and conflicts), selection and focus, the run queue and the kernel session over a WebSocket.
// Components subscribe to it (`listeners`) and draw it.
import { API, ApiError, cookie, get, post, put } from "../../api.js";
import { appendOutput, joined } from "../../outputs.jsx";
import { toast } from "../../ui.jsx";

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
