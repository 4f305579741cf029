// The schedule dialog's "when data changes": an object (each new version, or every N new rows)
// or a model's alias (each time it moves). The names offered are the tenant's objects and models.
import { listModels } from "../../api/models.js";
import { listObjects } from "../../api/objects.js";
import { Field } from "../../components/controls.jsx";
import { usePoll } from "../../poll.js";
import { describeTrigger } from "./trigger.js";

export const NO_TRIGGER = { kind: "object", object: "", rows: "", model: "", alias: "champion" };

/** The trigger the fields describe, for the API; throws a message when one is missing. */
export function toTrigger(t) {
  if (t.kind === "model") {
    if (!t.model.trim() || !t.alias.trim()) throw new Error("Name the model and the alias to follow.");
    return { model: t.model.trim(), alias: t.alias.trim() };
  }
  if (!t.object.trim()) throw new Error("Name the object to watch.");
  const rows = String(t.rows).trim();
  if (rows && !(Number.isInteger(Number(rows)) && Number(rows) > 0)) throw new Error("Rows is a whole number above 0, or empty.");
  return rows ? { object: t.object.trim(), rows: Number(rows) } : { object: t.object.trim() };
}

export function TriggerFields({ value: t, onChange }) {
  const [objects] = usePoll(listObjects, 0);
  const [models] = usePoll(listModels, 0);
  const set = (patch) => onChange({ ...t, ...patch });
  let words = "";
  try {
    words = describeTrigger(toTrigger(t));
  } catch {
    /* not complete yet */
  }
  const aliases = Object.keys((models || []).find((m) => m.name === t.model.trim())?.aliases || {});
  return (
    <>
      <div class="choice" role="radiogroup" aria-label="What changes">
        <label class={"preset" + (t.kind === "object" ? " on" : "")}>
          <input type="radio" name="trigger-kind" checked={t.kind === "object"} onChange={() => set({ kind: "object" })} /> An object
        </label>
        <label class={"preset" + (t.kind === "model" ? " on" : "")}>
          <input type="radio" name="trigger-kind" checked={t.kind === "model"} onChange={() => set({ kind: "model" })} /> A model's alias
        </label>
      </div>
      {t.kind === "object" ? (
        <div class="grid-2">
          <Field label="Object" hint="Runs on each new version of it…">
            <input
              list="trigger-objects"
              value={t.object}
              onInput={(e) => set({ object: e.target.value })}
              placeholder="nfl-live-plays.jsonl"
              spellcheck={false}
            />
          </Field>
          <Field label="Rows (optional)" hint="…or once it has gained this many rows since the last run.">
            <input type="number" min="1" step="1" value={t.rows} onInput={(e) => set({ rows: e.target.value })} placeholder="500" />
          </Field>
          <datalist id="trigger-objects">
            {(objects || []).map((o) => (
              <option value={o.name} />
            ))}
          </datalist>
        </div>
      ) : (
        <div class="grid-2">
          <Field label="Model">
            <input
              list="trigger-models"
              value={t.model}
              onInput={(e) => set({ model: e.target.value })}
              placeholder="advice"
              spellcheck={false}
            />
          </Field>
          <Field label="Alias" hint="Runs each time the alias moves (is set, or points at another version).">
            <input
              list="trigger-aliases"
              value={t.alias}
              onInput={(e) => set({ alias: e.target.value })}
              placeholder="champion"
              spellcheck={false}
            />
          </Field>
          <datalist id="trigger-models">
            {(models || []).map((m) => (
              <option value={m.name} />
            ))}
          </datalist>
          <datalist id="trigger-aliases">
            {aliases.map((a) => (
              <option value={a} />
            ))}
          </datalist>
        </div>
      )}
      <p class="small trigger-preview" aria-live="polite">
        {words ? (
          <>
            Runs <strong class="trigger-words">{words}</strong>, with what fired it as the parameter <code>trigger</code>.
          </>
        ) : (
          <span class="muted">Name what to watch.</span>
        )}
      </p>
    </>
  );
}
