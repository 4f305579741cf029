// One processor, live: status, throughput and counters, settings, and tabs for its actions,
// dead letters and logs; restart and stop.
import { useMemo, useState } from "preact/hooks";
import { latestRevision, useNotebooks } from "../../api/notebooks.js";
import { getProcessor, listDeadLetters, restartProcessor, stopProcessor } from "../../api/processors.js";
import { Badge, Button } from "../../components/controls.jsx";
import { ModelChips } from "../../components/model-chips.jsx";
import { Confirm } from "../../components/modal.jsx";
import { Ansi } from "../../components/outputs.jsx";
import { ErrorBox, Loading, Page, Tabs } from "../../components/page.jsx";
import { StaleRevision, behind } from "../../components/redeploy.jsx";
import { Sparkline } from "../../components/sparkline.jsx";
import { toast } from "../../components/toasts.jsx";
import { ago, number } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link } from "../../router.jsx";
import { ActionFeed } from "./actions.jsx";
import { DeadLetters } from "./dead-letters.jsx";
import { ms, rate, timespan } from "./format.js";
import { Logs } from "./logs.jsx";
import { MetricsByVersion, ShadowFeed, ShadowPanel } from "./shadow.jsx";

function Metric({ label, value, hint, tone }) {
  return (
    <div class={"metric" + (tone ? " metric-" + tone : "")} role="group" aria-label={label} title={hint}>
      <div class="metric-label">{label}</div>
      <div class="metric-value">{value}</div>
    </div>
  );
}

function Failure({ error }) {
  return (
    <div class="proc-failure" role="alert">
      <div class="proc-failure-head">
        <strong>{error.ename || "Error"}</strong>
        {error.evalue ? `: ${error.evalue}` : ""}
        {error.cell !== null && error.cell !== undefined && <span class="muted"> — while running setup cell {error.cell + 1}</span>}
      </div>
      {error.traceback && <Ansi class="traceback proc-traceback" text={error.traceback} />}
      <p class="muted small flat">Fix the notebook, then Restart: the processor takes the notebook's current revision.</p>
    </div>
  );
}

export function ProcessorView({ id }) {
  const [p, error, reload] = usePoll(() => getProcessor(id), 1000, [id]);
  const [, names] = useNotebooks();
  const notebookId = p?.notebook_id;
  const [latest] = usePoll(() => (notebookId ? latestRevision(notebookId) : null), 5000, [notebookId]);
  const [tab, setTab] = useState("actions");
  const [models, setModels] = useState({});
  const [stopping, setStopping] = useState(false);
  const [restarting, setRestarting] = useState(false);
  const [actError, setActError] = useState(null);
  const history = useMemo(() => (p ? p.throughput_history.map((h) => h[1]) : []), [p]);
  // Dead letters: polled once there are any, so that the tab can say how many wait.
  const hasLetters = !!p?.dead_lettered;
  const [letters, lettersError, reloadLetters] = usePoll(
    () => (hasLetters ? listDeadLetters(id, { limit: 200 }) : { items: [], next: null }),
    2000,
    [id, hasLetters],
  );
  const waiting = letters ? letters.items.filter((d) => d.status !== "replayed").length : 0;
  if (!p) {
    return (
      <Page title="Processor">
        <ErrorBox error={error} />
        {!error && <Loading />}
      </Page>
    );
  }
  const name = names[p.notebook_id] || p.notebook_id;
  const alive = p.status === "running" || p.status === "starting";
  const restart = async () => {
    setRestarting(true);
    setActError(null);
    try {
      await restartProcessor(p.id);
      toast("Restarting on the notebook's current revision");
      reload();
    } catch (e) {
      setActError(e);
    } finally {
      setRestarting(false);
    }
  };
  const peak = Math.max(0, ...history);
  return (
    <Page
      title={name}
      subtitle={
        <span class="run-sub">
          <Badge status={p.status} />
          <span>
            <Link href="/processing">Processing</Link> › on stream <strong>{p.stream}</strong> · revision {p.notebook_revision} ·{" "}
            {p.status === "stopped"
              ? `stopped ${ago(p.stopped_at)}`
              : p.started_at
                ? `started ${ago(p.started_at)}`
                : `deployed ${ago(p.created_at)}`}
          </span>
        </span>
      }
      actions={
        <>
          <Link class="btn btn-ghost" href={`/notebooks/${p.notebook_id}`}>
            Open notebook
          </Link>
          <Button busy={restarting} onClick={restart}>
            ↻ Restart
          </Button>
          {p.status !== "stopped" && (
            <Button kind="danger" onClick={() => setStopping(true)}>
              ■ Stop
            </Button>
          )}
        </>
      }
    >
      <ErrorBox error={error} />
      <ErrorBox error={actError} onClose={() => setActError(null)} />
      {behind(p, latest?.revision) && <StaleRevision processor={p} revision={latest.revision} after={reload} />}
      {p.status === "failed" && p.error && <Failure error={p.error} />}
      {p.status === "starting" && (
        <div class="proc-starting" role="status">
          <span class="spinner" /> Starting: the notebook's cells run on an execution node, then the stream connects.
        </div>
      )}
      <div class="proc-metrics">
        <div class="panel metric-tput" role="group" aria-label="Throughput">
          <div class="metric-label">Throughput</div>
          <div class="tput-row">
            <div class="metric-value big">
              {alive ? rate(p.throughput) : "–"}
              <span class="metric-unit">msg/s</span>
            </div>
            <Sparkline values={history} width={260} height={48} label="Recent throughput" />
          </div>
          <div class="muted small">
            {history.length < 2
              ? "sampling…"
              : peak > 0
                ? `peak ${rate(peak)}/s in the last ${timespan(p.throughput_history)}`
                : "no messages lately"}
          </div>
        </div>
        <div class="panel metric-grid">
          <Metric label="Received" value={number(p.received)} hint="Messages taken from the stream (redeliveries too)" />
          <Metric label="Processed" value={number(p.processed)} hint="Messages whose handler returned" tone="ok" />
          <Metric
            label="Failed"
            value={number(p.failed)}
            hint="Handler calls that raised (each retry counts)"
            tone={p.failed ? "bad" : null}
          />
          <Metric
            label="Dead-lettered"
            value={number(p.dead_lettered)}
            hint="Times a message was given up after its retries (a replayed letter that fails again counts again); the Dead letters tab lists the letters waiting"
            tone={p.dead_lettered ? "bad" : null}
          />
          <Metric label="Redelivered" value={number(p.redelivered)} hint="Messages the broker delivered again" />
          <Metric label="Lag" value={number(p.lag)} hint="Messages waiting: queue depth, or replay records due" />
          <Metric label="Latency" value={ms(p.latency_ms)} hint="Median publish-to-handled time, last batch" />
          <Metric label="Restarts" value={number(p.restarts)} hint="Instances started again after losing their node" />
        </div>
      </div>
      <dl class="proc-facts">
        <div>
          <dt>Nodes</dt>
          <dd>{p.nodes.length ? p.nodes.map((n) => <code class="node">{n}</code>) : <span class="muted">none</span>}</dd>
        </div>
        <div>
          <dt>Batches</dt>
          <dd>
            up to {number(p.batch_size)} in {p.batch_wait_ms} ms
          </dd>
        </div>
        <div>
          <dt>Retries</dt>
          <dd>{p.max_retries}</dd>
        </div>
        <div>
          <dt>Replicas</dt>
          <dd>{p.replicas}</dd>
        </div>
        <div>
          <dt>Position</dt>
          <dd title="Replay: index of the first record not yet handled">{number(p.position)}</dd>
        </div>
        <div>
          <dt title="The model versions the latest action was made with">Models in use</dt>
          <dd>{Object.keys(models).length ? <ModelChips models={models} label="Models in use" /> : <span class="muted">none</span>}</dd>
        </div>
        <div>
          <dt>Id</dt>
          <dd class="mono">{p.id}</dd>
        </div>
      </dl>
      <MetricsByVersion metrics={p.metrics || []} />
      <ShadowPanel processor={p} models={models} after={reload} />
      <Tabs
        tabs={[
          ["actions", "Live actions"],
          ...(p.shadow ? [["shadow", "Shadow actions"]] : []),
          ["dead", `Dead letters${waiting ? ` (${number(waiting)}${letters.next ? "+" : ""})` : ""}`],
          ["logs", `Logs${p.logs.length ? ` (${p.logs.length})` : ""}`],
        ]}
        current={tab}
        onChange={setTab}
      />
      {/* The feed stays mounted on other tabs so that it keeps collecting. */}
      <div hidden={tab !== "actions"}>
        <ActionFeed id={p.id} processor={p} onModels={setModels} />
      </div>
      {tab === "shadow" && <ShadowFeed id={p.id} />}
      {tab === "dead" && <DeadLetters processor={p} page={letters} error={lettersError} reload={reloadLetters} />}
      {tab === "logs" && <Logs lines={p.logs} />}
      {stopping && (
        <Confirm
          title="Stop this processor?"
          message={`${name} stops taking messages from ${p.stream}. Its counters, actions and dead letters stay; Restart brings it back.`}
          confirmLabel="Stop processor"
          onConfirm={async () => {
            await stopProcessor(p.id);
            toast("Processor stopped");
            reload();
          }}
          onClose={() => setStopping(false)}
        />
      )}
    </Page>
  );
}
