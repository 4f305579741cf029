// The notebook as the editor holds it, outside Preact: its cells, autosave with revision checks
// (and conflicts), selection and focus; the run queue and the kernel session come from Runner
// (runner.js). Components subscribe to it (`listeners`) and draw it.
import { getNotebook, latestRevision, renameNotebook, saveNotebook, saveNotebookOnLeave } from "../../api/notebooks.js";
import { joined } from "../../outputs.js";
import { definedNames } from "./names.js";
import { PastRuns } from "./past-runs.js";
import { Runner } from "./runner.js";

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

export class Model extends Runner {
  constructor(id) {
    super();
    this.id = id;
    this.info = null; // id, name, kind, revision, updated_at
    this.base = null; // the notebook without its cells (metadata, nbformat)
    this.cells = [];
    this.loadError = null;
    this.active = null; // the selected cell
    this.editing = null; // the cell in edit mode (its editor has the keyboard)
    this.focusReq = null;
    this.dirty = false;
    this.saving = null; // the save in flight
    this.saveError = null;
    this.conflict = null;
    this.dirtySince = 0;
    this.timer = null;
    this.deleted = [];
    this.editors = new Map();
    this.elements = new Map();
    this.defined = new Map(); // cell id -> { source, names }
    this.past = new PastRuns(this); // a run's outputs shown under the cells, never saved
  }

  // -- plumbing --------------------------------------------------------------------------------
  index(id) {
    return this.cells.findIndex((c) => c.id === id);
  }

  cell(id) {
    return this.cells.find((c) => c.id === id);
  }

  patch(id, changes) {
    this.cells = this.cells.map((c) => (c.id === id ? { ...c, ...changes } : c));
  }

  /** The names the notebook's code cells define ([name, type]), for Tab completion. */
  names() {
    const out = [];
    for (const c of this.cells) {
      if (c.cell_type !== "code") continue;
      let known = this.defined.get(c.id);
      if (!known || known.source !== c.source) {
        known = { source: c.source, names: definedNames(c.source) };
        this.defined.set(c.id, known);
      }
      out.push(...known.names);
    }
    return out;
  }

  // -- loading and saving ----------------------------------------------------------------------
  async open() {
    try {
      this.apply(await getNotebook(this.id));
      const first = this.cells[0];
      // A new notebook: the keyboard goes straight into its first cell.
      if (this.cells.length === 1 && !first.source && first.cell_type === "code") this.select(first.id, "edit");
    } catch (e) {
      this.loadError = e;
    }
    this.emit();
    if (this.loadError) return;
    this.ensureKernel().catch(() => {});
    this.past.load();
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
    this.saving = saveNotebook(this.info.id, body);
    this.emit();
    try {
      const saved = await this.saving;
      this.info = { ...this.info, revision: saved.revision, updated_at: saved.updated_at, name: saved.name };
    } catch (e) {
      this.dirty = true;
      if (e.status === 409) {
        this.conflict = { message: e.message, revision: null };
        latestRevision(this.info.id)
          .then((latest) => this.conflict && ((this.conflict = { ...this.conflict, ...latest }), this.emit()))
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
    const detail = await getNotebook(this.info.id);
    this.conflict = null;
    this.dirty = false;
    this.saveError = null;
    clearTimeout(this.timer);
    this.apply(detail);
    this.emit();
  }

  /** Keep the local version: save it on top of the latest revision. */
  async overwrite() {
    const latest = await getNotebook(this.info.id);
    this.info = { ...this.info, revision: latest.revision };
    this.conflict = null;
    this.dirty = true;
    await this.save(true);
  }

  async rename(name) {
    const saved = await renameNotebook(this.info.id, name);
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

  /** Leave: save what is unsaved (best effort when the tab closes). The kernel session goes on,
   * as in JupyterLab: the next visit finds its variables. */
  close(unloading = false) {
    if (this.disposed) return;
    if (this.dirty && this.info && !this.conflict) {
      clearTimeout(this.timer);
      if (unloading) {
        saveNotebookOnLeave(this.info.id, { notebook: this.content(), revision: this.info.revision }).catch(() => {});
      } else this.save(true);
    }
    clearTimeout(this.timer);
    this.disconnect();
  }
}
