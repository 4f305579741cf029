// CodeMirror 6 for notebook cells: Python or Markdown, Jupyter's keys, a quiet light theme.
// A cell's component owns the view; the keys call back through `keys` (read at key time, so the
// component can swap its handlers on every render without rebuilding the editor).
import {
  acceptCompletion,
  autocompletion,
  closeBrackets,
  closeCompletion,
  closeBracketsKeymap,
  completionKeymap,
  completionStatus,
  startCompletion,
} from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentLess, indentMore } from "@codemirror/commands";
import { markdown } from "@codemirror/lang-markdown";
import { globalCompletion, localCompletionSource, pythonLanguage } from "@codemirror/lang-python";
import {
  bracketMatching,
  HighlightStyle,
  indentOnInput,
  indentUnit,
  LanguageSupport,
  syntaxHighlighting,
  syntaxTree,
} from "@codemirror/language";
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

// Tab completion in code cells: the names the cell's scope defines (function parameters too),
// the names every code cell of the notebook defines (`keys.names()`), Python's keywords and
// builtins. Not attributes (`df.<Tab>`): that needs the kernel.
const KEYWORDS = (
  "False None True and as assert async await break class continue def del elif else except finally " +
  "for from global if import in is lambda match nonlocal not or pass raise return try while with yield"
).split(" ");
const NOT_HERE = new Set(["String", "FormatString", "Comment", "PropertyName"]);
const WORD = /[A-Za-z_\xa1-\uffff][\w\xa1-\uffff]*$/;

function pythonCompletion(keys) {
  return (context) => {
    if (NOT_HERE.has(syntaxTree(context.state).resolveInner(context.pos, -1).name)) return null;
    const word = context.matchBefore(WORD);
    if (!word && !context.explicit) return null;
    const from = word ? word.from : context.pos;
    if (context.state.sliceDoc(from - 1, from) === ".") return null;
    const options = new Map();
    const add = (label, type, boost) => options.has(label) || options.set(label, { label, type, boost });
    for (const o of localCompletionSource(context)?.options || []) add(o.label, o.type, 3);
    for (const [name, type] of keys.names?.() || []) add(name, type, 2);
    for (const k of KEYWORDS) add(k, "keyword", 0);
    for (const o of globalCompletion(context)?.options || []) if (!o.apply) add(o.label, o.type, 1); // not its snippets
    return { from, options: [...options.values()], validFor: /^[\w\xa1-\uffff]*$/ };
  };
}

const LANGUAGES = {
  code: (keys) => new LanguageSupport(pythonLanguage, pythonLanguage.data.of({ autocomplete: pythonCompletion(keys) })),
  markdown: () => markdown(),
};
const PLACEHOLDERS = {
  code: "Python code · Shift+Enter runs it",
  markdown: "Markdown text · Shift+Enter renders it",
};

/** Tab completes after a name in code (as in Jupyter) and indents anywhere else. */
function tab(view, code) {
  if (completionStatus(view.state) === "active") {
    acceptCompletion(view); // refused in the menu's first 75 ms: Tab must not leave the cell then
    return true;
  }
  const { from, empty } = view.state.selection.main;
  const before = view.state.sliceDoc(Math.max(0, from - 1), from);
  if (code && empty && /\w/.test(before)) return startCompletion(view);
  if (code && empty && before === ".") return true; // attributes are not completed; no indent either
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
 * up(), down(), change(text), focus(), and names() for completion ([name, type] pairs).
 */
export function createEditor({ parent, doc, type, keys }) {
  let current = type;
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
    { key: "Escape", run: (view) => closeCompletion(view) || call("escape") }, // a menu closes first
    { key: "ArrowUp", run: (view) => atFirstLine(view) && call("up") },
    { key: "ArrowDown", run: (view) => atLastLine(view) && call("down") },
    { key: "Tab", run: (view) => tab(view, current === "code") },
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
        language.of(LANGUAGES[type](keys)),
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
  view.setType = (next) => {
    current = next;
    view.dispatch({
      effects: [language.reconfigure(LANGUAGES[next](keys)), hint.reconfigure(placeholder(PLACEHOLDERS[next]))],
    });
  };
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
