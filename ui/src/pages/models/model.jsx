// One model: its aliases, its versions newest first (metrics side by side, the best of each
// highlighted), and the chosen version's lineage and actions. /models/NAME#v3 chooses v3.
import { useEffect, useState } from "preact/hooks";
import { getModel } from "../../api/models.js";
import { KeyValues } from "../../components/key-values.jsx";
import { ErrorBox, Loading, Page } from "../../components/page.jsx";
import { ago, datetime } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link } from "../../router.jsx";
import { AliasPanel } from "./aliases.jsx";
import { bestValues, lowerIsBetter, metricNames, metricValue } from "./metrics.js";
import { VersionDetail } from "./version.jsx";

const fromHash = () => {
  const m = /^#v(\d+)$/.exec(location.hash);
  return m ? Number(m[1]) : null;
};

/** The version the hash names (#v3), following changes of the hash. */
function useHashVersion() {
  const [version, setVersion] = useState(fromHash);
  useEffect(() => {
    const on = () => setVersion(fromHash());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  const choose = (v) => {
    history.replaceState(null, "", `${location.pathname}${location.search}#v${v}`);
    setVersion(v);
  };
  return [version, choose];
}

function VersionTable({ model, chosen, onChoose }) {
  const names = metricNames(model.versions);
  const best = bestValues(model.versions);
  return (
    <div class="table-scroll-x">
      <table class="table version-table">
        <thead>
          <tr>
            <th>Version</th>
            <th>Flavor</th>
            {names.map((n) => (
              <th class="num" title={lowerIsBetter(n) ? "lower is better" : "higher is better"}>
                {n} <span aria-hidden="true">{lowerIsBetter(n) ? "↓" : "↑"}</span>
              </th>
            ))}
            <th>Params</th>
            <th>Aliases</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {model.versions.map((v) => (
            <tr
              key={v.version}
              id={`v${v.version}`}
              class={"version-row" + (v.version === chosen ? " version-chosen" : "")}
              onClick={() => onChoose(v.version)}
              aria-selected={v.version === chosen}
            >
              <td>
                <button class="linkish mono version-num" onClick={() => onChoose(v.version)} aria-label={`Show version ${v.version}`}>
                  v{v.version}
                </button>
              </td>
              <td>
                <span class="flavor">{v.flavor}</span>
              </td>
              {names.map((n) => {
                const x = v.metrics?.[n];
                const top = best[n] !== undefined && x === best[n];
                return (
                  <td class={"num metric-cell" + (top ? " metric-best" : "")} title={top ? `best ${n}` : undefined}>
                    {x === undefined ? <span class="muted">–</span> : metricValue(x)}
                  </td>
                );
              })}
              <td>
                <KeyValues data={v.params} empty={<span class="muted">–</span>} max={24} />
              </td>
              <td>
                {v.aliases.length ? (
                  <span class="alias-chips">
                    {v.aliases.map((a) => (
                      <span class="alias-chip">{a}</span>
                    ))}
                  </span>
                ) : (
                  <span class="muted">–</span>
                )}
              </td>
              <td title={datetime(v.created_at)}>{ago(v.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ModelView({ name }) {
  const [model, error, reload] = usePoll(() => getModel(name), 10000, [name], { keep: true });
  const [hashVersion, choose] = useHashVersion();
  const chosen = model?.versions.find((v) => v.version === hashVersion) || model?.versions[0];
  useEffect(() => {
    if (model && hashVersion) document.getElementById(`detail-v${hashVersion}`)?.scrollIntoView({ block: "nearest" });
  }, [!!model, hashVersion]);
  const subtitle = (
    <>
      <Link href="/models">Models</Link> ›{" "}
      {model
        ? `${model.versions.length} ${model.versions.length === 1 ? "version" : "versions"} · latest v${model.latest_version} · updated ${ago(model.versions[0]?.created_at)}`
        : name}
    </>
  );
  return (
    <Page title={name} subtitle={subtitle}>
      <ErrorBox error={error} />
      {!model ? (
        !error && <Loading />
      ) : (
        <div class="model-split">
          <div class="model-main">
            <section class="panel" aria-label="Versions">
              <header class="panel-head">
                <h2>
                  Versions <span class="data-count">{model.versions.length}</span>
                </h2>
                <span class="muted small">newest first · the best value of each metric is highlighted</span>
              </header>
              <VersionTable model={model} chosen={chosen?.version} onChoose={choose} />
            </section>
            {chosen && <VersionDetail key={chosen.version} model={model} version={chosen} />}
          </div>
          <div class="model-side">
            <AliasPanel model={model} onChange={reload} onChoose={choose} />
          </div>
        </div>
      )}
    </Page>
  );
}
