// The runs of the notebook open in the editor, and the outputs of one of them shown under its
// cells (read-only, never saved into the notebook): the latest finished run's when the editor
// opens, another picked in the bar above the cells, or none. A cell the user runs shows its own.
import { getRunNotebook, listRuns } from "../../api/runs.js";
import { ACTIVE } from "../runs/status.js";
import { bare, matchRunCells } from "./past.js";

const RUNS_OFFERED = 20;

export class PastRuns {
  constructor(model) {
    this.model = model;
    this.runs = []; // newest first, those that started
    this.run = null; // the run shown
    this.byCell = new Map(); // editor cell id -> {outputs, execution_count, changed}
    this.hidden = false;
    this.loading = false;
    this.error = null;
    this.replaced = new Set(); // cells the user ran here: their own outputs win
  }

  /** On opening: when some code cell has nothing of its own to show, offer the runs. */
  async load() {
    if (!(await this.list())) return;
    const latest = this.runs.find((r) => !ACTIVE.has(r.status)) || this.runs[0];
    if (latest) await this.show(latest.id);
  }

  /** The runs again (a job started here has ended): offered, not shown. */
  async refresh() {
    if (await this.list()) this.model.emit();
  }

  /** List the runs, when some code cell has nothing of its own to show; whether it did. */
  async list() {
    if (!this.model.cells.some((c) => bare(c) && c.source.trim())) return false;
    try {
      const page = await listRuns({ notebookId: this.model.info.id, limit: RUNS_OFFERED });
      this.runs = page.items.filter((r) => r.status !== "queued");
      return true;
    } catch {
      return false; // nothing offered: the editor works as before
    }
  }

  /** Show this run's outputs (an id), or none (null). */
  async show(id) {
    if (!id) {
      this.hidden = true;
      this.model.emit();
      return;
    }
    this.hidden = false;
    this.loading = true;
    this.error = null;
    this.model.emit();
    try {
      const nb = await getRunNotebook(id);
      this.run = this.runs.find((r) => r.id === id) || null;
      this.byCell = matchRunCells(this.model.cells, nb.cells);
    } catch (e) {
      this.error = e;
    } finally {
      this.loading = false;
      this.model.emit();
    }
  }

  /** The user ran the cell: from now on it shows its own outputs. */
  replace(id) {
    this.replaced.add(id);
  }

  hide() {
    if (this.run && !this.hidden) this.show(null);
  }

  /** What to show under the cell from the run, or null. */
  outputsFor(cell) {
    if (this.hidden || !this.run || this.replaced.has(cell.id) || !bare(cell)) return null;
    return this.byCell.get(cell.id) || null;
  }

  /** Whether any cell shows the run's outputs now. */
  showing() {
    return this.model.cells.some((c) => this.outputsFor(c));
  }
}
