// Runs: the history of notebook runs and the cron schedules (tabs), and one run's page.
import "./runs.css";
import { useState } from "preact/hooks";
import { useNotebooks } from "../../api/notebooks.js";
import { Button } from "../../components/controls.jsx";
import { ErrorBox, Page, Tabs } from "../../components/page.jsx";
import { match, navigate, useLocation } from "../../router.jsx";
import { RunsTab } from "./list.jsx";
import { RunDialog } from "./run-dialog.jsx";
import { RunView } from "./run.jsx";
import { SchedulesTab } from "./schedules.jsx";

function RunsHome({ tab, filter }) {
  const [notebooks, names, nbError] = useNotebooks();
  const [running, setRunning] = useState(false);
  const [creating, setCreating] = useState(false);
  const go = (t) => {
    const q = new URLSearchParams();
    if (t !== "runs") q.set("tab", t);
    if (filter) q.set("notebook", filter);
    navigate("/runs" + (q.toString() ? "?" + q : ""));
  };
  return (
    <Page
      title="Runs"
      subtitle="Notebooks run top to bottom in a fresh kernel, with parameters: from here, the REST API or a schedule."
      actions={
        <>
          <Button
            onClick={() => {
              if (tab !== "schedules") go("schedules");
              setCreating(true);
            }}
          >
            New schedule
          </Button>
          <Button kind="primary" onClick={() => setRunning(true)}>
            ▶ Run notebook
          </Button>
        </>
      }
    >
      <ErrorBox error={nbError} />
      <Tabs
        tabs={[
          ["runs", "Runs"],
          ["schedules", "Schedules"],
        ]}
        current={tab}
        onChange={go}
      />
      {tab === "schedules" ? (
        <SchedulesTab names={names} filter={filter} creating={creating} setCreating={setCreating} />
      ) : (
        <RunsTab notebooks={notebooks} names={names} filter={filter} onRun={() => setRunning(true)} />
      )}
      {running && <RunDialog notebookId={filter} onClose={() => setRunning(false)} />}
    </Page>
  );
}

export function RunsPage({ path }) {
  const { params } = useLocation();
  const m = match("/runs/:id", path);
  if (m) return <RunView key={m.id} id={m.id} />;
  return <RunsHome tab={params.get("tab") === "schedules" ? "schedules" : "runs"} filter={params.get("notebook") || ""} />;
}
