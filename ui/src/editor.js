// CodeMirror 6 for notebook cells: Python or Markdown, Jupyter's keys, a quiet light theme.
// A cell's component owns the view; the keys call back through `keys` (read at key time, so the
// component can swap its handlers on every render without rebuilding the editor).
import { acceptCompletion, autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, completionStatus, startCompletion } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentLess, indentMore } from "@codemirror/commands";
import { markdown } from "@codemirror/lang-markdown";
import { python } from "@codemirror/lang-python";
import { bracketMatching, HighlightStyle, indentOnInput, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { Compartment, EditorState, Prec } from "@codemirror/state";
import { drawSelection, EditorView, highlightSpecialChars, keymap, placeholder } from "@codemirror/view";
import { tags as t } from "@lezer/highlight";

// Jupyter's classic colours, which most notebook users read without thinking.
const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.moduleKeyword, t.definitionKeyword], color: "#008000", fontWeight: "600" },
  { tag: [t.operatorKeyword], color: "#aa22ff", fontWeight: "600" },
  { tag: [t.bool, t.null, t.self], color: "#008000" },
  { tag: [t.string, t.special(t.string), t.docString], color: "#ba2121" },
  { tag: t.escape, color: "#bb6622" },
  { tag: t.comment, color: "#3d7b7b", fontStyle: "italic" },
  { tag: [t.number, t.integer, t.float], color: "#008000" },
  { tag: [t.operator, t.compareOperator, t.arithmeticOperator, t.logicOperator, t.updateOperator], color: "#aa22ff" },
  { tag: [t.function(t.definition(t.variableName)), t.definition(t.className)], color: "#0000ff" },
  { tag: t.className, color: "#0000ff" },
  { tag: t.function(t.variableName), color: "#1d2327" },
  { tag: t.propertyName, color: "#1d2327" },
  { tag: t.meta, color: "#aa22ff" },
  { tag: t.heading, fontWeight: "700", color: "#175546" },
  { tag: t.emphasis, fontStyle: "italic" },
  { tag: t.strong, fontWeight: "700" },
  { tag: [t.link, t.url], color: "#1f5fbf" },
  { tag: t.monospace, color: "#ba2121" },
  { tag: t.quote, color: "#66707a" },
  { tag: t.invalid, color: "#b42318" },
]);

const theme = EditorView.theme({
  "&": { fontSize: "13px", backgroundColor: "transparent" },
  "&.cm-focused": { outline: "none" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.5", overflowX: "auto" },
  ".cm-content": { padding: "7px 0", caretColor: "#1d2327" },
  ".cm-line": { padding: "0 10px" },
  ".cm-placeholder": { color: "#9aa3ab", fontStyle: "italic" },
  "&.cm-focused .cm-matchingBracket": { backgroundColor: "#d7ece6", outline: "1px solid #9ccfc0" },
  ".cm-tooltip.cm-tooltip-autocomplete": { border: "1px solid #c5ccd4", borderRadius: "6px", boxShadow: "0 6px 16px rgba(16,24,40,.12)" },
  ".cm-tooltip-autocomplete > ul": { fontFamily: "var(--mono)", fontSize: "12.5px" },
  ".cm-tooltip-autocomplete ul li[aria-selected]": { backgroundColor: "#1f6f5c", color: "#fff" },
});

const LANGUAGES = { code: () => python(), markdown: () => markdown() };
const PLACEHOLDERS = {
  code: "Python code · Shift+Enter runs it",
  markdown: "Markdown text · Shift+Enter renders it",
};

/** Tab completes after a name (as in Jupyter) and indents anywhere else. */
function tab(view) {
  if (completionStatus(view.state) === "active") return acceptCompletion(view);
  const { from, empty } = view.state.selection.main;
  const before = view.state.sliceDoc(Math.max(0, from - 1), from);
  if (empty && /[\w.]/.test(before)) return startCompletion(view);
  return indentMore(view);
}

function atFirstLine(view) {
  const sel = view.state.selection.main;
  return sel.empty && view.state.doc.lineAt(sel.head).number === 1;
}

function atLastLine(view) {
  const sel = view.state.selection.main;
  return sel.empty && view.state.doc.lineAt(sel.head).number === view.state.doc.lines;
}

/**
 * Make an editor in `parent` for a cell of `type` ("code" or "markdown").
 * `keys` is an object whose current members are called: run(advance), save(), escape(),
 * up(), down(), change(text), focus().
 */
export function createEditor({ parent, doc, type, keys }) {
  const language = new Compartment();
  const hint = new Compartment();
  const call = (name, ...args) => {
    const fn = keys[name];
    if (fn) fn(...args);
    return Boolean(fn);
  };
  const cellKeys = [
    { key: "Shift-Enter", run: () => call("run", true) },
    { key: "Mod-Enter", run: () => call("run", false) },
    { key: "Mod-s", run: () => call("save"), preventDefault: true },
    { key: "Escape", run: () => call("escape") },
    { key: "ArrowUp", run: (view) => atFirstLine(view) && call("up") },
    { key: "ArrowDown", run: (view) => atLastLine(view) && call("down") },
    { key: "Tab", run: tab },
    { key: "Shift-Tab", run: indentLess },
  ];
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        history(),
        drawSelection(),
        highlightSpecialChars(),
        indentOnInput(),
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        bracketMatching(),
        closeBrackets(),
        autocompletion({ activateOnTyping: false, icons: false }),
        syntaxHighlighting(highlight),
        EditorView.lineWrapping,
        theme,
        language.of(LANGUAGES[type]()),
        hint.of(placeholder(PLACEHOLDERS[type])),
        Prec.high(keymap.of(cellKeys)),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) call("change", update.state.doc.toString());
          if (update.focusChanged && update.view.hasFocus) call("focus");
        }),
        EditorView.contentAttributes.of({ "aria-label": type === "code" ? "Code cell" : "Markdown cell" }),
      ],
    }),
  });
  view.setType = (next) =>
    view.dispatch({
      effects: [language.reconfigure(LANGUAGES[next]()), hint.reconfigure(placeholder(PLACEHOLDERS[next]))],
    });
  /** Replace the text (when it changed outside the editor, e.g. on reload). */
  view.setText = (text) => {
    if (text !== view.state.doc.toString()) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    }
  };
  /** Focus with the cursor at the start or the end. */
  view.focusAt = (where) => {
    const pos = where === "start" ? 0 : view.state.doc.length;
    view.dispatch({ selection: { anchor: pos } });
    view.focus();
  };
  return view;
}
