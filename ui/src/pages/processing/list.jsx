// The processors: status, counters and throughput of each, live.
import { useState } from "preact/hooks";
import { useNotebooks } from "../../api/notebooks.js";
import { listProcessors } from "../../api/processors.js";
import { Badge, Button } from "../../components/controls.jsx";
import { Empty, ErrorBox, Loading, Page } from "../../components/page.jsx";
import { behind } from "../../components/redeploy.jsx";
import { Sparkline } from "../../components/sparkline.jsx";
import { ago, datetime, number, shortId } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link, navigate } from "../../router.jsx";
import { DeployDialog } from "./deploy.jsx";
import { rate } from "./format.js";

export function ProcessorList() {
  const [page, error] = usePoll(() => listProcessors({ limit: 200 }), 1000);
  const [notebooks, names] = useNotebooks();
  const revisions = Object.fromEntries((notebooks || []).map((n) => [n.id, n.revision]));
  const [deploying, setDeploying] = useState(false);
  const items = page?.items || [];
  const running = items.filter((p) => p.status === "running");
  const failed = items.filter((p) => p.status === "failed").length;
  const total = running.reduce((a, p) => a + (p.throughput || 0), 0);
  return (
    <Page
      title="Processing"
      subtitle={
        page && items.length
          ? `${running.length} running${failed ? ` · ${failed} failed` : ""} · ${rate(total)} messages/s in all`
          : "Processing notebooks running on live streams, recording actions."
      }
      actions={
        <Button kind="primary" onClick={() => setDeploying(true)}>
          + Deploy processor
        </Button>
      }
    >
      <ErrorBox error={error} />
      {page === undefined ? (
        !error && <Loading />
      ) : items.length === 0 ? (
        <div class="panel">
          <Empty>
            No processors yet.{" "}
            <button class="linkish" onClick={() => setDeploying(true)}>
              Deploy a processing notebook
            </button>{" "}
            on a stream: it handles each message and records actions.
          </Empty>
        </div>
      ) : (
        <div class="panel">
          <table class="table proc-table">
            <thead>
              <tr>
                <th>Processor</th>
                <th>Stream</th>
                <th>Status</th>
                <th class="num">Received</th>
                <th class="num">Processed</th>
                <th class="num">Failed</th>
                <th class="num">Dead letters</th>
                <th class="num">Lag</th>
                <th>Throughput</th>
                <th>Started</th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr
                  key={p.id}
                  class={"clickable" + (p.status === "stopped" ? " proc-stopped" : "")}
                  onClick={(e) => e.target.closest("a") || navigate(`/processing/${p.id}`)}
                >
                  <td>
                    <Link href={`/processing/${p.id}`} class="proc-name">
                      {names[p.notebook_id] || p.notebook_id}
                    </Link>
                    <div class="muted small">
                      <span class="mono">{shortId(p.id)}</span> · rev {p.notebook_revision}
                      {behind(p, revisions[p.notebook_id]) && (
                        <span class="proc-behind" title="Open it to redeploy with the current revision">
                          {" "}
                          (notebook at {revisions[p.notebook_id]})
                        </span>
                      )}
                      {p.replicas > 1 ? ` · ${p.replicas} replicas` : ""}
                    </div>
                  </td>
                  <td>{p.stream}</td>
                  <td>
                    <Badge status={p.status} />
                  </td>
                  <td class="num">{number(p.received)}</td>
                  <td class="num">{number(p.processed)}</td>
                  <td class={"num" + (p.failed ? " is-bad" : "")}>{number(p.failed)}</td>
                  <td class={"num" + (p.dead_lettered ? " is-bad" : "")}>{number(p.dead_lettered)}</td>
                  <td class="num">{number(p.lag)}</td>
                  <td>
                    <div class="proc-tput">
                      <Sparkline
                        values={p.throughput_history.map((h) => h[1])}
                        width={96}
                        height={24}
                        label={`Throughput of ${names[p.notebook_id] || p.id}`}
                      />
                      <span class="num">{p.status === "running" ? rate(p.throughput) : "–"}</span>
                      <span class="muted small">/s</span>
                    </div>
                  </td>
                  <td title={datetime(p.started_at || p.created_at)}>{ago(p.started_at || p.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deploying && <DeployDialog onClose={() => setDeploying(false)} />}
    </Page>
  );
}
