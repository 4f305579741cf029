// "New schedule": a notebook; when: a cron expression (or a preset) in a time zone, or when data
// changes (an object, a model's alias); its parameters.
import { useMemo, useState } from "preact/hooks";
import { useNotebooks } from "../../api/notebooks.js";
import { createSchedule } from "../../api/schedules.js";
import { Button, Field } from "../../components/controls.jsx";
import { Modal } from "../../components/modal.jsx";
import { NotebookSelect } from "../../components/notebook-select.jsx";
import { ErrorBox, Loading } from "../../components/page.jsx";
import { ParamRows, PARAMS_HINT, useParamRows } from "../../components/params.jsx";
import { toast } from "../../components/toasts.jsx";
import { toParameters } from "../../params.js";
import { describeCron, PRESETS, timezones } from "./cron.js";
import { NO_TRIGGER, TriggerFields, toTrigger } from "./trigger-fields.jsx";

export function ScheduleDialog({ notebookId = "", onClose, onCreated }) {
  const [notebooks] = useNotebooks();
  const [nb, setNb] = useState(notebookId);
  const [cron, setCron] = useState("0 6 * * *");
  const [tz, setTz] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  const [when, setWhen] = useState("cron");
  const [trigger, setTrigger] = useState(NO_TRIGGER);
  const [rows, setRows] = useParamRows(nb);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const zones = useMemo(timezones, []);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (!nb) return setError("Choose the notebook to run.");
    let params;
    let fires;
    try {
      params = toParameters(rows);
      if (when === "data") fires = toTrigger(trigger);
    } catch (err) {
      return setError(err.message);
    }
    setBusy(true);
    try {
      const s = await createSchedule(nb, {
        cron: cron.trim(),
        timezone: tz.trim() || "UTC",
        trigger: fires,
        parameters: params,
      });
      toast("Schedule created");
      onCreated(s);
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const words = describeCron(cron);
  return (
    <Modal
      title="New schedule"
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="schedule-form" busy={busy}>
            Create schedule
          </Button>
        </>
      }
    >
      <form onSubmit={submit} id="schedule-form">
        {notebooks === undefined ? <Loading /> : <NotebookSelect notebooks={notebooks} value={nb} onChange={setNb} />}
        <div class="choice" role="radiogroup" aria-label="When">
          <span class="field-label">When</span>
          <label class={"preset" + (when === "cron" ? " on" : "")}>
            <input type="radio" name="when" checked={when === "cron"} onChange={() => setWhen("cron")} /> On a cron
          </label>
          <label class={"preset" + (when === "data" ? " on" : "")}>
            <input type="radio" name="when" checked={when === "data"} onChange={() => setWhen("data")} /> When data changes
          </label>
        </div>
        {when === "data" ? (
          <TriggerFields value={trigger} onChange={setTrigger} />
        ) : (
          <>
            <div class="grid-2">
              <Field
                label="Cron"
                hint={<>minute · hour · day of month · month · day of week{words && <strong class="cron-words"> — runs {words}</strong>}</>}
              >
                <input class="mono" value={cron} onInput={(e) => setCron(e.target.value)} placeholder="0 6 * * 1" spellcheck={false} />
              </Field>
              <Field label="Timezone" hint="IANA name, e.g. Europe/Paris: due times are read in it.">
                <input list="run-timezones" value={tz} onInput={(e) => setTz(e.target.value)} />
                <datalist id="run-timezones">
                  {zones.map((z) => (
                    <option value={z} />
                  ))}
                </datalist>
              </Field>
            </div>
            <div class="presets" aria-label="Common schedules">
              {PRESETS.map(([c, label]) => (
                <button type="button" class={"preset" + (cron.trim() === c ? " on" : "")} onClick={() => setCron(c)}>
                  {label}
                </button>
              ))}
            </div>
          </>
        )}
        <div class="field">
          <span class="field-label">Parameters</span>
          <ParamRows rows={rows} onChange={setRows} hint={PARAMS_HINT} />
        </div>
        <ErrorBox error={error} />
      </form>
    </Modal>
  );
}
