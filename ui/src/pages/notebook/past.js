// A run's outputs beside the editor's cells: which executed cell belongs to which editor cell.
import { joined } from "../../outputs.js";

/**
 * Match the editor's code cells to a run's executed cells: by cell id, else by position among
 * the code cells (a notebook saved without ids), leaving out the cell a run adds for its
 * parameters. Returns Map(editor cell id -> {outputs,
 * execution_count, changed}), `changed` when the cell's code is no longer what the run ran; only
 * cells the run gave outputs or a count.
 */
export function matchRunCells(cells, runCells) {
  const ran = (runCells || []).filter((c) => c.cell_type === "code" && !(c.metadata?.tags || []).includes("injected-parameters"));
  const byId = new Map(ran.filter((c) => c.id).map((c) => [c.id, c]));
  const claimed = new Set(cells.filter((c) => c.cell_type === "code" && byId.has(c.id)).map((c) => c.id));
  const out = new Map();
  let k = 0;
  for (const cell of cells) {
    if (cell.cell_type !== "code") continue;
    let found = byId.get(cell.id);
    if (!found) {
      const there = ran[k];
      // By position, unless that executed cell is another editor cell's by id.
      if (there && !(there.id && claimed.has(there.id))) found = there;
    }
    k++;
    if (!found || (!(found.outputs || []).length && found.execution_count == null)) continue;
    out.set(cell.id, {
      outputs: found.outputs || [],
      execution_count: found.execution_count ?? null,
      changed: joined(found.source).trim() !== joined(cell.source).trim(),
    });
  }
  return out;
}

/** A cell with nothing of its own to show: no outputs, never run. */
export function bare(cell) {
  return cell.cell_type === "code" && !(cell.outputs || []).length && cell.execution_count == null;
}
