// The list of runs, newest first, live while some are queued or running.
import { useState } from "preact/hooks";
import { listRuns } from "../../api/runs.js";
import { Badge, Button } from "../../components/controls.jsx";
import { KeyValues } from "../../components/key-values.jsx";
import { Empty, ErrorBox, Loading } from "../../components/page.jsx";
import { ago, datetime, duration, shortId } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link, navigate } from "../../router.jsx";
import { ACTIVE } from "./status.js";

function RunsTable({ runs, names }) {
  return (
    <table class="table run-table">
      <thead>
        <tr>
          <th>Status</th>
          <th>Notebook</th>
          <th>Run</th>
          <th>Started</th>
          <th class="num">Duration</th>
          <th>Parameters</th>
          <th class="num">Attempt</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} class="clickable" onClick={(e) => e.target.closest("a") || navigate(`/runs/${r.id}`)}>
            <td>
              <Badge status={r.status} />
              {r.status === "running" && r.cells_total > 0 && (
                <span class="run-mini muted">
                  {r.cells_done}/{r.cells_total}
                </span>
              )}
            </td>
            <td>
              <span class="run-nbname">{names[r.notebook_id] || r.notebook_id}</span>
              <span class="muted"> · rev {r.notebook_revision}</span>
            </td>
            <td>
              <Link href={`/runs/${r.id}`} class="mono">
                {shortId(r.id)}
              </Link>
            </td>
            <td title={datetime(r.started_at || r.created_at)}>{ago(r.started_at || r.created_at)}</td>
            <td class="num">{r.started_at ? duration(r.started_at, r.finished_at) : <span class="muted">–</span>}</td>
            <td>
              <KeyValues data={r.parameters} empty={<span class="muted">–</span>} max={32} />
            </td>
            <td class="num">
              {r.attempt > 1 ? (
                <span class="badge badge-wait" title="The first attempt lost its kernel or node">
                  {r.attempt}
                </span>
              ) : (
                r.attempt
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RunsTab({ notebooks, names, filter, onRun }) {
  const [limit, setLimit] = useState(50);
  const [page, error] = usePoll(() => listRuns({ notebookId: filter, limit }), 10000, [filter, limit], {
    fast: 1000,
    active: (p) => p.items.some((r) => ACTIVE.has(r.status)),
  });
  const active = page ? page.items.filter((r) => ACTIVE.has(r.status)).length : 0;
  return (
    <>
      <div class="toolbar">
        <label class="row">
          <span class="field-label">Notebook</span>
          <select
            aria-label="Filter by notebook"
            value={filter}
            onChange={(e) => navigate(e.target.value ? `/runs?notebook=${encodeURIComponent(e.target.value)}` : "/runs", { replace: true })}
          >
            <option value="">All notebooks</option>
            {(notebooks || []).map((n) => (
              <option value={n.id}>{n.name}</option>
            ))}
          </select>
        </label>
        <span class="spacer" />
        {active > 0 && (
          <span class="live-note">
            <span class="live-dot" /> {active} active · refreshing
          </span>
        )}
      </div>
      <ErrorBox error={error} />
      {page === undefined ? (
        !error && <Loading />
      ) : page.items.length === 0 ? (
        <div class="panel">
          <Empty>
            {filter ? "This notebook has not been run yet." : "No runs yet."}{" "}
            <button class="linkish" onClick={onRun}>
              Run a notebook
            </button>{" "}
            with parameters, or trigger one through the REST API.
          </Empty>
        </div>
      ) : (
        <div class="panel">
          <RunsTable runs={page.items} names={names} />
          {page.next && limit < 1000 && (
            <div class="table-more">
              <Button small onClick={() => setLimit(Math.min(1000, limit + 50))}>
                Show older runs
              </Button>
            </div>
          )}
        </div>
      )}
    </>
  );
}
