// A processor's dead letters: the messages its handler kept failing on, their tracebacks, replay.
import { useState } from "preact/hooks";
import { replayDeadLetters } from "../../api/processors.js";
import { Badge, Button } from "../../components/controls.jsx";
import { KeyValues } from "../../components/key-values.jsx";
import { Ansi } from "../../components/outputs.jsx";
import { Empty, ErrorBox, Loading } from "../../components/page.jsx";
import { ago, datetime } from "../../format.js";
import { clock } from "./format.js";

export function DeadLetters({ processor, page, error, reload }) {
  const id = processor.id;
  const [open, setOpen] = useState(() => new Set());
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [replayError, setReplayError] = useState(null);
  const items = page?.items || [];
  const waiting = items.filter((d) => d.status !== "replayed").length;
  const toggle = (k) => {
    const s = new Set(open);
    s.has(k) ? s.delete(k) : s.add(k);
    setOpen(s);
  };
  const replay = async () => {
    setBusy(true);
    setReplayError(null);
    setResult(null);
    try {
      const r = await replayDeadLetters(id);
      setResult({ count: r.replaying, at: new Date() });
      reload();
    } catch (e) {
      setReplayError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="panel">
      <div class="panel-head">
        <div>
          <h2>Dead letters</h2>
          <p class="muted small flat">Messages whose handler kept failing. Fix the notebook, restart the processor, then replay them.</p>
        </div>
        <Button
          kind="primary"
          busy={busy}
          disabled={!waiting || processor.status !== "running"}
          onClick={replay}
          title={processor.status !== "running" ? "The processor must be running" : undefined}
        >
          ↻ Replay dead letters
        </Button>
      </div>
      {result && (
        <div class="replay-result" role="status">
          {result.count === 0
            ? "Nothing to replay."
            : `${result.count} dead letter${result.count === 1 ? "" : "s"} handed back to the processor at ${clock(result.at)}: each is marked replayed once its handler returns, or stays dead with the new error.`}
          <button class="icon-btn" aria-label="Dismiss" onClick={() => setResult(null)}>
            ×
          </button>
        </div>
      )}
      <ErrorBox error={replayError} onClose={() => setReplayError(null)} />
      <ErrorBox error={error} />
      {page === undefined ? (
        !error && <Loading />
      ) : items.length === 0 ? (
        <Empty>No dead letters: every message was handled{processor.max_retries ? ` within ${processor.max_retries} retries` : ""}.</Empty>
      ) : (
        <table class="table dl-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Message</th>
              <th>Error</th>
              <th class="num">Attempts</th>
              <th class="num">Revision</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((d) => {
              const body = d.body ?? (d.body_b64 ? `(binary) ${d.body_b64}` : "");
              const expanded = open.has(d.id);
              return [
                <tr key={d.id} class={expanded ? "dl-open" : ""}>
                  <td title={datetime(d.created_at)} class="nowrap">
                    {clock(d.created_at)}
                    <div class="muted small">{ago(d.created_at)}</div>
                  </td>
                  <td>
                    <code class="dl-body" title={body}>
                      {body.length > 140 ? body.slice(0, 139) + "…" : body}
                    </code>
                  </td>
                  <td class="dl-error">{d.error}</td>
                  <td class="num">{d.attempts}</td>
                  <td class="num">{d.notebook_revision}</td>
                  <td>
                    <Badge status={d.status} />
                  </td>
                  <td class="num">
                    <Button small kind="ghost" aria-expanded={expanded} onClick={() => toggle(d.id)}>
                      {expanded ? "Hide" : "Traceback"}
                    </Button>
                  </td>
                </tr>,
                expanded && (
                  <tr key={d.id + "-tb"} class="dl-detail">
                    <td colSpan={7}>
                      <Ansi class="traceback dl-traceback" text={d.traceback || d.error} />
                      {Object.keys(d.headers || {}).length > 0 && (
                        <div class="dl-headers">
                          <span class="muted small">Headers </span>
                          <KeyValues data={d.headers} sep=":" />
                        </div>
                      )}
                      <div class="muted small">
                        Message id <span class="mono">{d.message_id}</span>
                        {d.replayed_at && <> · replayed {ago(d.replayed_at)}</>}
                      </div>
                    </td>
                  </tr>
                ),
              ];
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
