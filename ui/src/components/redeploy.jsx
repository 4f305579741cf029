// "This processor runs an older revision of its notebook", with a one-click redeploy on the
// notebook's current revision: on a processor's page and in the processing notebook's editor.
import { useState } from "preact/hooks";
import { restartProcessor } from "../api/processors.js";
import { Button } from "./controls.jsx";
import { toast } from "./toasts.jsx";

/** Whether a processor (not stopped) runs a revision older than the notebook's `revision`. */
export function behind(processor, revision) {
  return Boolean(processor && revision && processor.status !== "stopped" && processor.notebook_revision < revision);
}

/** The notice; `before` runs first (the editor saves what is unsaved), `after` once restarted. */
export function StaleRevision({ processor, revision, who = "This processor", before, after }) {
  const [busy, setBusy] = useState(false);
  const redeploy = async () => {
    setBusy(true);
    try {
      const at = (await before?.()) ?? revision;
      await restartProcessor(processor.id);
      toast(`Redeploying with revision ${at}`);
      after?.();
    } catch (e) {
      toast(`Redeploy failed: ${e.message}`, "bad");
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="stale-revision" role="status">
      <span class="stale-revision-icon" aria-hidden="true">
        ⚠
      </span>
      <span>
        {who} runs revision {processor.notebook_revision}; the notebook is at revision {revision}.
      </span>
      <Button small kind="primary" busy={busy} onClick={redeploy}>
        Redeploy with revision {revision}
      </Button>
    </div>
  );
}
