// The tenant's models: name, latest version, aliases, when each last changed.
import { listModels } from "../../api/models.js";
import { Empty, ErrorBox, Loading, Page } from "../../components/page.jsx";
import { ago, datetime } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link } from "../../router.jsx";
import { AliasChips } from "./aliases.jsx";

export const modelHref = (name) => `/models/${encodeURIComponent(name)}`;

export function ModelList() {
  const [models, error] = usePoll(listModels, 10000);
  return (
    <Page
      title="Models"
      subtitle={
        models?.length
          ? `${models.length} ${models.length === 1 ? "model" : "models"}; an alias (champion, challenger) names the version in use.`
          : "Models logged from notebooks with sdk.log_model, their versions and aliases."
      }
    >
      <ErrorBox error={error} />
      {models === undefined ? (
        !error && <Loading />
      ) : models.length === 0 ? (
        <div class="panel">
          <Empty>
            No models yet. In a notebook, <code>sdk.log_model("name", model, metrics=...)</code> stores a version; processors load one with{" "}
            <code>sdk.load_model("name@champion")</code>.
          </Empty>
        </div>
      ) : (
        <div class="panel">
          <table class="table model-table">
            <thead>
              <tr>
                <th>Model</th>
                <th class="num">Latest</th>
                <th>Aliases</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.name}>
                  <td>
                    <Link class="model-name" href={modelHref(m.name)}>
                      {m.name}
                    </Link>
                  </td>
                  <td class="num mono">v{m.latest_version}</td>
                  <td>
                    <AliasChips aliases={m.aliases} name={m.name} empty={<span class="muted">–</span>} />
                  </td>
                  <td title={datetime(m.updated_at)}>{ago(m.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
