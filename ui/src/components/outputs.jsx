// Notebook outputs (nbformat v4) drawn: text, ANSI-coloured tracebacks, images, and HTML.
// HTML from a notebook is shown in a sandboxed iframe without allow-scripts, so whatever it
// contains can never run script, least of all in the app's origin. Markdown is sanitized.
import { AnsiUp } from "ansi_up";
import DOMPurify from "dompurify";
import { marked } from "marked";
import { useRef } from "preact/hooks";
import { joined } from "../outputs.js";

const ansi = new AnsiUp();
ansi.use_classes = true;

export function Ansi({ text, class: cls }) {
  return <pre class={cls} dangerouslySetInnerHTML={{ __html: ansi.ansi_to_html(text) }} />;
}

export function Markdown({ source }) {
  const html = DOMPurify.sanitize(marked.parse(source || "", { async: false }));
  return <div class="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}

const FRAME_STYLE = `<style>
body{margin:0;font:13px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2327;overflow-x:auto}
table{border:0;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{border:0;padding:4px 10px;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}
thead th{border-bottom:2px solid #c9ced4}
tbody tr:nth-child(odd){background:#f7f8fa}
</style>`;

/** Notebook HTML, isolated: no scripts, no forms, no top navigation, no plugins. */
export function HtmlFrame({ html }) {
  const ref = useRef();
  const fit = () => {
    const frame = ref.current;
    try {
      const doc = frame.contentDocument;
      frame.style.height = "0px"; // measure the content, not the frame's default 150 px
      frame.style.height = Math.min(doc.documentElement.scrollHeight + 4, 600) + "px";
    } catch {
      frame.style.height = "300px";
    }
  };
  return (
    <iframe
      ref={ref}
      class="html-output"
      sandbox="allow-same-origin"
      referrerpolicy="no-referrer"
      title="HTML output"
      srcdoc={FRAME_STYLE + html}
      onLoad={fit}
    />
  );
}

function Data({ data }) {
  if (data["image/png"]) return <img class="image-output" alt="plot" src={"data:image/png;base64," + joined(data["image/png"]).trim()} />;
  if (data["image/jpeg"])
    return <img class="image-output" alt="image" src={"data:image/jpeg;base64," + joined(data["image/jpeg"]).trim()} />;
  if (data["image/svg+xml"]) {
    const svg = joined(data["image/svg+xml"]);
    return <img class="image-output" alt="image" src={"data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg)} />;
  }
  if (data["text/html"]) return <HtmlFrame html={joined(data["text/html"])} />;
  if (data["text/markdown"]) return <Markdown source={joined(data["text/markdown"])} />;
  if (data["application/json"]) return <pre class="text-output">{JSON.stringify(data["application/json"], null, 2)}</pre>;
  if (data["text/plain"]) return <Ansi class="text-output" text={joined(data["text/plain"])} />;
  return null;
}

export function Output({ output }) {
  switch (output.output_type) {
    case "stream":
      return <Ansi class={"text-output" + (output.name === "stderr" ? " stderr" : "")} text={joined(output.text)} />;
    case "error":
      return (
        <div class="error-output" role="alert">
          <Ansi class="traceback" text={(output.traceback || []).join("\n") || `${output.ename}: ${output.evalue}`} />
        </div>
      );
    case "display_data":
    case "execute_result":
      return <Data data={output.data || {}} />;
    default:
      return null;
  }
}

export function Outputs({ outputs }) {
  if (!outputs || !outputs.length) return null;
  return (
    <div class="outputs">
      {outputs.map((o, i) => (
        <Output key={i} output={o} />
      ))}
    </div>
  );
}
