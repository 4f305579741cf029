// A run's executed notebook, read-only: highlighted code, outputs, and where the run is or stopped.
import { useMemo } from "preact/hooks";
import { pythonLanguage } from "@codemirror/lang-python";
import { classHighlighter, highlightCode } from "@lezer/highlight";
import { Markdown, Outputs } from "../../components/outputs.jsx";
import { Empty } from "../../components/page.jsx";
import { joined } from "../../outputs.js";
import { ACTIVE } from "./status.js";

/** Python source with light highlighting (lezer's Python grammar, class names tok-*). */
function Code({ source }) {
  const parts = useMemo(() => {
    if (source.length > 100_000) return [source];
    const out = [];
    try {
      highlightCode(
        source,
        pythonLanguage.parser.parse(source),
        classHighlighter,
        (text, cls) => out.push(cls ? <span class={cls}>{text}</span> : text),
        () => out.push("\n"),
      );
    } catch {
      return [source];
    }
    return out;
  }, [source]);
  return <pre class="run-code">{parts}</pre>;
}

function Cell({ cell, index, state }) {
  const source = joined(cell.source);
  if (cell.cell_type === "markdown") {
    return (
      <div class="run-cell run-cell-md" id={`cell-${index}`}>
        <div class="run-prompt" />
        <div class="run-cell-main">
          <Markdown source={source} />
        </div>
      </div>
    );
  }
  if (cell.cell_type !== "code") {
    return (
      <div class="run-cell" id={`cell-${index}`}>
        <div class="run-prompt" />
        <pre class="run-code run-raw">{source}</pre>
      </div>
    );
  }
  const tags = cell.metadata?.tags || [];
  const tag = tags.includes("injected-parameters") ? "injected parameters" : tags.includes("parameters") ? "parameters" : null;
  return (
    <div class={"run-cell" + (state ? " run-cell-" + state : "")} id={`cell-${index}`}>
      <div class="run-prompt" aria-hidden="true">
        {state === "running" ? <span class="spinner" /> : `[${cell.execution_count ?? " "}]`}
      </div>
      <div class="run-cell-main">
        {(tag || state) && (
          <div class="run-cell-tags">
            {tag && <span class="run-cell-tag">{tag}</span>}
            {state === "running" && <span class="run-cell-tag tag-run">running</span>}
            {state === "failed" && <span class="run-cell-tag tag-bad">failed here</span>}
            {state === "pending" && <span class="run-cell-tag">not run</span>}
            {state === "stopped" && (
              <span class="run-cell-tag tag-bad">stopped here ({cell.execution_count ? "finished" : "cut short"})</span>
            )}
          </div>
        )}
        <Code source={source} />
        <Outputs outputs={cell.outputs} />
      </div>
    </div>
  );
}

export function ExecutedNotebook({ nb, run }) {
  const cells = nb.cells || [];
  const code = cells.map((c, i) => (c.cell_type === "code" ? i : -1)).filter((i) => i >= 0);
  const finished = !ACTIVE.has(run.status);
  const stateOf = (i) => {
    if (run.error && run.error.cell === i) return "failed";
    const k = code.indexOf(i);
    if (k < 0) return null;
    if (run.status === "running" && k === run.cells_done) return "running";
    // A run cancelled or timed out mid-cell keeps what that cell printed.
    if (finished && run.status !== "succeeded" && k === run.cells_done && (cells[i].outputs || []).length) return "stopped";
    if (k >= run.cells_done && (run.status === "queued" || run.status === "running" || (finished && run.status !== "succeeded")))
      return "pending";
    return null;
  };
  if (!cells.length) return <Empty>The notebook has no cells.</Empty>;
  return (
    <div class="run-nb" aria-label="Executed notebook">
      {cells.map((c, i) => (
        <Cell key={i} cell={c} index={i} state={stateOf(i)} />
      ))}
    </div>
  );
}
