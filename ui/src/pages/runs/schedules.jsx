// The schedules: when each runs next, what it started and skipped; create and delete.
import { useState } from "preact/hooks";
import { deleteSchedule, listSchedules } from "../../api/schedules.js";
import { Button } from "../../components/controls.jsx";
import { KeyValues } from "../../components/key-values.jsx";
import { Confirm } from "../../components/modal.jsx";
import { Empty, ErrorBox, Loading } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { datetime, shortId } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link } from "../../router.jsx";
import { describeCron, until, zoned } from "./cron.js";
import { ScheduleDialog } from "./schedule-dialog.jsx";
import { describeTrigger } from "./trigger.js";

export function SchedulesTab({ names, filter, creating, setCreating }) {
  const [list, error, reload] = usePoll(listSchedules, 10000, [], { fast: 1000 });
  const [deleting, setDeleting] = useState(null);
  const shown = (list || []).filter((s) => !filter || s.notebook_id === filter);
  return (
    <>
      <ErrorBox error={error} />
      {list === undefined ? (
        !error && <Loading />
      ) : shown.length === 0 ? (
        <div class="panel">
          <Empty>
            No schedules{filter ? " for this notebook" : ""}.{" "}
            <button class="linkish" onClick={() => setCreating(true)}>
              Create one
            </button>{" "}
            to run a notebook on a cron expression or when data changes.
          </Empty>
        </div>
      ) : (
        <div class="panel">
          <table class="table schedule-table">
            <thead>
              <tr>
                <th>Notebook</th>
                <th>Schedule</th>
                <th>Parameters</th>
                <th>Next run</th>
                <th>Last run</th>
                <th class="num">Started</th>
                <th class="num">Skipped</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link href={`/runs?notebook=${encodeURIComponent(s.notebook_id)}`}>{names[s.notebook_id] || s.notebook_id}</Link>
                  </td>
                  <td>
                    {s.trigger ? (
                      <span class="trigger-words">{describeTrigger(s.trigger)}</span>
                    ) : (
                      <>
                        <code class="cron">{s.cron}</code> <span class="muted">{s.timezone}</span>
                        {describeCron(s.cron) && <div class="muted small">{describeCron(s.cron)}</div>}
                      </>
                    )}
                  </td>
                  <td>
                    <KeyValues data={s.parameters} empty={<span class="muted">–</span>} max={28} />
                  </td>
                  {s.trigger ? (
                    <td class="muted">on the change</td>
                  ) : (
                    <td title={"Your time: " + datetime(s.next_at)}>
                      {zoned(s.next_at, s.timezone)}
                      <div class="muted small">{until(s.next_at)}</div>
                    </td>
                  )}
                  <td>
                    {s.last_run_id ? (
                      <Link href={`/runs/${s.last_run_id}`} class="mono">
                        {shortId(s.last_run_id)}
                      </Link>
                    ) : (
                      <span class="muted">–</span>
                    )}
                  </td>
                  <td class="num">{s.runs_started}</td>
                  <td
                    class="num"
                    title={
                      s.last_skipped_at
                        ? "Last skipped " + datetime(s.last_skipped_at)
                        : "A due time is skipped while the last run still runs"
                    }
                  >
                    {s.runs_skipped}
                  </td>
                  <td class="num">
                    <Button
                      small
                      kind="danger"
                      aria-label={`Delete schedule ${s.trigger ? describeTrigger(s.trigger) : s.cron} of ${names[s.notebook_id] || s.notebook_id}`}
                      onClick={() => setDeleting(s)}
                    >
                      Delete
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating && <ScheduleDialog notebookId={filter} onClose={() => setCreating(false)} onCreated={reload} />}
      {deleting && (
        <Confirm
          title="Delete schedule?"
          message={`${deleting.trigger ? `“${describeTrigger(deleting.trigger)}”` : `“${deleting.cron}” (${deleting.timezone})`} of ${names[deleting.notebook_id] || deleting.notebook_id} stops starting runs. Its past runs stay.`}
          onConfirm={async () => {
            await deleteSchedule(deleting.id);
            toast("Schedule deleted");
            reload();
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </>
  );
}
