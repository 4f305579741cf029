// In a processing notebook's editor: the processors deployed from it that run an older revision,
// each with a one-click redeploy on this one (what is unsaved is saved first).
import { listProcessors } from "../../api/processors.js";
import { StaleRevision, behind } from "../../components/redeploy.jsx";
import { usePoll } from "../../poll.js";
import { Link } from "../../router.jsx";

export function DeployedProcessors({ model }) {
  const [page, , reload] = usePoll(() => listProcessors({ limit: 200 }), 5000, [model.id]);
  const revision = model.info.revision;
  const stale = (page?.items || []).filter((p) => p.notebook_id === model.info.id && behind(p, revision));
  const saveFirst = async () => {
    await model.save(true);
    if (model.conflict || model.saveError) throw new Error("save the notebook first");
    return model.info.revision;
  };
  return stale.map((p) => (
    <StaleRevision
      key={p.id}
      processor={p}
      revision={revision}
      who={
        <>
          The processor on stream <Link href={`/processing/${p.id}`}>{p.stream}</Link>
        </>
      }
      before={saveFirst}
      after={reload}
    />
  ));
}
