// A cell: its editor (CodeMirror) or rendered Markdown, prompt, outputs and toolbar, and the
// command-mode keys (Jupyter's single keys) that act on the selected cell.
import { memo } from "preact/compat";
import { useLayoutEffect, useRef } from "preact/hooks";
import { createEditor } from "../../editor.js";
import { Markdown, Outputs } from "../../components/outputs.jsx";
import { Icon, IconButton } from "./icons.jsx";
import { PastOutputs } from "./past.jsx";

export const TYPES = [
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

function prompt(cell, state, past) {
  if (cell.cell_type !== "code") return "";
  if (state) return "[*]";
  return `[${cell.execution_count ?? past?.execution_count ?? " "}]`;
}

export const Cell = memo(function Cell({ model, cell, index, total, active, editing, state, error, past, pastRun }) {
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
    names: () => model.names(),
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
      <div
        class={"cell-prompt" + (past && !state ? " cell-prompt-past" : "")}
        title={running ? "Running" : state === "queued" ? "Queued" : past ? "Its count in the run shown" : undefined}
      >
        {prompt(cell, state, past)}
        {isCode && (
          <button
            type="button"
            class="cell-run"
            aria-label="Run cell"
            title="Run (Ctrl+Enter)"
            onClick={() => model.runCell(cell.id, false)}
          >
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
        {past && past.outputs.length > 0 && <PastOutputs past={past} run={pastRun} />}
      </div>
    </div>
  );
});
