// The models a processor uses: what sdk.metric measured by version, the challenger in shadow
// (agreement, each side's metrics, the promotion policy and its decisions), and its actions.
import { useState } from "preact/hooks";
import { setAlias } from "../../api/models.js";
import { clearShadow, setShadow, shadowActions } from "../../api/processors.js";
import { Button, Field } from "../../components/controls.jsx";
import { ModelChips, versionHref } from "../../components/model-chips.jsx";
import { Empty, ErrorBox } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { ago, number } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link } from "../../router.jsx";
import { ActionItem } from "./actions.jsx";

const fixed = (x) => (x === null || x === undefined ? "–" : Number(x).toPrecision(4));
const percent = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 1000) / 10}%`);

function policyText(policy) {
  if (!policy) return "by hand (move the champion alias on the model's page, or here)";
  const every = `every ${number(policy.window)} messages compared`;
  if (policy.gate) return `the gate notebook ${policy.gate} decides, ${every}`;
  const better = policy.goal === "max" ? "higher" : "lower";
  const margin = policy.min_improvement ? ` by more than ${policy.min_improvement}` : "";
  return `promote when the challenger's mean ${policy.metric} is ${better}${margin}, ${every}`;
}

/** What sdk.metric measured in the handlers, by the model versions in use. */
export function MetricsByVersion({ metrics }) {
  if (!metrics.length) return null;
  return (
    <div class="panel shadow-metrics">
      <div class="panel-head">
        <h2>Metrics by model version</h2>
        <span class="muted small">what the handlers measured with sdk.metric</span>
      </div>
      <table class="table" aria-label="Metrics by model version">
        <thead>
          <tr>
            <th>Metric</th>
            <th>Models</th>
            <th class="num">Mean</th>
            <th class="num">Messages</th>
          </tr>
        </thead>
        <tbody>
          {metrics.map((m) => (
            <tr key={m.name + JSON.stringify(m.models)}>
              <td class="mono">{m.name}</td>
              <td>
                <ModelChips models={m.models} label="Measured with" />
              </td>
              <td class="num">{fixed(m.mean)}</td>
              <td class="num">{number(m.count)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The challenger in shadow, and how to start one. */
export function ShadowPanel({ processor: p, models, after }) {
  const s = p.shadow_stats || {};
  const [error, setError] = useState(null);
  const [form, setForm] = useState(null);
  const act = async (work, message) => {
    setError(null);
    try {
      await work();
      toast(message);
      after();
    } catch (e) {
      setError(e);
    }
  };
  const names = Object.keys(models);
  const start = () =>
    setForm({
      model: p.shadow?.model || names[0] || "",
      alias: "challenger",
      kind: "none",
      metric: "",
      goal: "min",
      window: 500,
      gate: "",
    });
  const submit = (e) => {
    e.preventDefault();
    const policy =
      form.kind === "metric"
        ? { metric: form.metric, goal: form.goal, window: Number(form.window) }
        : form.kind === "gate"
          ? { gate: form.gate, window: Number(form.window) }
          : null;
    act(() => setShadow(p.id, { model: form.model, alias: form.alias, policy }), "Challenger in shadow: the processor starts again").then(
      () => setForm(null),
    );
  };
  const edit = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  return (
    <div class="panel shadow-panel" aria-label="Challenger in shadow">
      <div class="panel-head">
        <h2>Challenger in shadow</h2>
        <div class="row">
          {p.shadow && s.challenger && s.challenger !== s.champion && (
            <Button
              small
              onClick={() =>
                act(() => setAlias(p.shadow.model, p.shadow.champion, s.challenger), `${p.shadow.model} v${s.challenger} is the champion`)
              }
            >
              Promote v{s.challenger}
            </Button>
          )}
          <Button small onClick={start}>
            {p.shadow ? "Change" : "Run a challenger"}
          </Button>
          {p.shadow && (
            <Button small kind="danger" onClick={() => act(() => clearShadow(p.id), "No challenger: the processor starts again")}>
              Stop shadow
            </Button>
          )}
        </div>
      </div>
      <ErrorBox error={error} onClose={() => setError(null)} />
      {form && (
        <form class="shadow-form" onSubmit={submit}>
          <div class="grid-4">
            <Field label="Model">
              <input required value={form.model} onInput={edit("model")} list="shadow-models" />
              <datalist id="shadow-models">
                {names.map((n) => (
                  <option value={n} />
                ))}
              </datalist>
            </Field>
            <Field label="Challenger alias">
              <input required value={form.alias} onInput={edit("alias")} />
            </Field>
            <Field label="Promotion">
              <select value={form.kind} onChange={edit("kind")}>
                <option value="none">By hand</option>
                <option value="metric">On a metric</option>
                <option value="gate">By a gate notebook</option>
              </select>
            </Field>
            {form.kind !== "none" && (
              <Field label="Window (messages)">
                <input type="number" min="1" value={form.window} onInput={edit("window")} />
              </Field>
            )}
            {form.kind === "metric" && (
              <>
                <Field label="Metric (sdk.metric)">
                  <input required value={form.metric} onInput={edit("metric")} />
                </Field>
                <Field label="Better is">
                  <select value={form.goal} onChange={edit("goal")}>
                    <option value="min">Lower</option>
                    <option value="max">Higher</option>
                  </select>
                </Field>
              </>
            )}
            {form.kind === "gate" && (
              <Field label="Gate notebook">
                <input required value={form.gate} onInput={edit("gate")} />
              </Field>
            )}
          </div>
          <div class="row">
            <Button kind="primary" type="submit">
              Run in shadow
            </Button>
            <Button type="button" onClick={() => setForm(null)}>
              Cancel
            </Button>
          </div>
        </form>
      )}
      {!p.shadow ? (
        <p class="muted small">
          No challenger. A challenger handles every message again in the champion's place; its actions go to a shadow feed, and this page
          shows how often both agree.
        </p>
      ) : (
        <ShadowFigures processor={p} />
      )}
    </div>
  );
}

function ShadowFigures({ processor: p }) {
  const s = p.shadow_stats || {};
  const model = p.shadow.model;
  const sides = Object.keys({ ...s.metrics?.champion, ...s.metrics?.challenger });
  return (
    <>
      <dl class="proc-facts">
        <div>
          <dt>Champion</dt>
          <dd>{s.champion ? <Link href={versionHref(model, s.champion)}>{`${model} v${s.champion}`}</Link> : "–"}</dd>
        </div>
        <div>
          <dt>Challenger</dt>
          <dd>
            {s.challenger ? (
              <Link href={versionHref(model, s.challenger)}>{`${model} v${s.challenger}`}</Link>
            ) : (
              `${model}@${p.shadow.alias}`
            )}
          </dd>
        </div>
        <div>
          <dt>Agreement</dt>
          <dd>
            <strong>{percent(s.agreement)}</strong> <span class="muted">of {number(s.compared || 0)} compared</span>
          </dd>
        </div>
        <div>
          <dt>Challenger failures</dt>
          <dd>{number(s.failed || 0)}</dd>
        </div>
      </dl>
      {s.champion === s.challenger && s.champion && <p class="muted small">The challenger is the champion: nothing to compare.</p>}
      {sides.map((name) => (
        <div class="shadow-compare" key={name}>
          <span class="mono">{name}</span> champion <strong>{fixed(s.metrics.champion?.[name])}</strong> · challenger{" "}
          <strong>{fixed(s.metrics.challenger?.[name])}</strong>
        </div>
      ))}
      <p class="muted small">Promotion: {policyText(p.shadow.policy)}.</p>
      {(s.decisions || []).length > 0 && (
        <ol class="shadow-decisions" aria-label="Promotion decisions, newest first">
          {[...s.decisions].reverse().map((d) => (
            <li key={d.at}>
              <span class={d.verdict === "promoted" ? "badge badge-ok" : "badge"}>{d.verdict}</span> v{d.challenger} against v{d.champion}{" "}
              {ago(d.at)}: {d.reason} {d.run_id && <Link href={`/runs/${d.run_id}`}>gate run</Link>}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

/** The challenger's latest actions (the shadow feed). */
export function ShadowFeed({ id }) {
  const [page, error] = usePoll(() => shadowActions(id, 100), 2000, [id]);
  const items = page?.items || [];
  return (
    <div class="panel">
      <div class="panel-head">
        <h2>Shadow actions</h2>
      </div>
      <ErrorBox error={error} />
      {items.length === 0 ? (
        <Empty>No challenger actions: they appear here while a challenger runs in shadow.</Empty>
      ) : (
        <ol class="feed" aria-label="Shadow actions, newest first">
          {items.map((a) => (
            <ActionItem key={a.id} action={a} />
          ))}
        </ol>
      )}
    </div>
  );
}
