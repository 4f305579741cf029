// What a processor's notebook printed, kept scrolled to the end unless scrolled up.
import { useEffect, useRef } from "preact/hooks";
import { Empty } from "../../components/page.jsx";

export function Logs({ lines }) {
  const ref = useRef();
  const stick = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <div class="panel">
      <div class="panel-head">
        <h2>Logs</h2>
        <span class="muted small">What the notebook printed: the latest {lines.length} lines</span>
      </div>
      {lines.length === 0 ? (
        <Empty>Nothing printed yet.</Empty>
      ) : (
        <pre
          class="proc-logs"
          ref={ref}
          tabIndex={0}
          onScroll={(e) => (stick.current = e.target.scrollTop + e.target.clientHeight >= e.target.scrollHeight - 8)}
        >
          {lines.join("\n")}
        </pre>
      )}
    </div>
  );
}
