// One version of a model: what it is (flavor, size, digest), where it came from (object
// versions, notebook and revision, run, session, user, packages), and the actions made with it.
import { modelActions } from "../../api/actions.js";
import { useNotebooks } from "../../api/notebooks.js";
import { KeyValues } from "../../components/key-values.jsx";
import { Empty, ErrorBox, Loading } from "../../components/page.jsx";
import { ago, bytes, datetime, shortId } from "../../format.js";
import { usePoll } from "../../poll.js";
import { Link } from "../../router.jsx";

const ACTIONS = 20;

const objectHref = (o) => `/data/objects/${encodeURIComponent(o.name)}?version=${o.version}`;

function Fact({ label, children }) {
  return (
    <div class="lineage-fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Lineage({ lineage }) {
  const [, names] = useNotebooks();
  const l = lineage || {};
  const none = <span class="muted">–</span>;
  return (
    <dl class="lineage">
      <Fact label="Made from">
        {l.objects?.length ? (
          <ul class="lineage-objects">
            {l.objects.map((o) => (
              <li>
                <Link href={objectHref(o)}>{o.name}</Link> <span class="mono muted">v{o.version}</span>
              </li>
            ))}
          </ul>
        ) : (
          <span class="muted">no object read through the SDK</span>
        )}
      </Fact>
      <Fact label="Notebook">
        {l.notebook ? (
          <Link href={`/notebooks/${encodeURIComponent(l.notebook.id)}`} title="Open the notebook (its current revision)">
            {names[l.notebook.id] || shortId(l.notebook.id)}
            {l.notebook.revision !== undefined && l.notebook.revision !== null && `, revision ${l.notebook.revision}`}
          </Link>
        ) : (
          none
        )}
      </Fact>
      <Fact label="Run">
        {l.run ? (
          <Link class="mono" href={`/runs/${encodeURIComponent(l.run)}`}>
            {shortId(l.run)}
          </Link>
        ) : (
          none
        )}
      </Fact>
      <Fact label="Session">{l.session ? <span class="mono">{shortId(l.session)}</span> : none}</Fact>
      <Fact label="User">{l.user || none}</Fact>
      <Fact label="Packages">
        <KeyValues data={l.packages} empty={none} max={24} />
      </Fact>
    </dl>
  );
}

function VersionActions({ name, version }) {
  const [page, error] = usePoll(() => modelActions(name, version, ACTIONS), 10000, [name, version]);
  const api = `/api/v1/actions?model=${encodeURIComponent(name)}&model_version=${version}`;
  const count = page ? `${page.items.length}${page.next ? "+" : ""}` : "";
  return (
    <section class="version-actions" aria-label={`Actions made with v${version}`}>
      <h3>
        Actions made with v{version} <span class="data-count">{count}</span>
      </h3>
      <ErrorBox error={error} />
      {page === undefined ? (
        !error && <Loading />
      ) : page.items.length === 0 ? (
        <Empty>No action was made with this version yet.</Empty>
      ) : (
        <>
          <ol class="version-action-list">
            {page.items.map((a) => (
              <li key={a.id}>
                <div class="row">
                  <span class="version-action-text">{a.text}</span>
                  <time class="muted small" title={datetime(a.created_at)}>
                    {ago(a.created_at)}
                  </time>
                  {a.processor_id && (
                    <Link class="small" href={`/processing/${encodeURIComponent(a.processor_id)}`}>
                      processor {shortId(a.processor_id)}
                    </Link>
                  )}
                </div>
                <KeyValues data={a.data} sep=":" max={48} />
              </li>
            ))}
          </ol>
          <p class="small muted flat version-actions-foot">
            {page.next ? `The latest ${page.items.length}; all of them` : "All of them"} as JSON:{" "}
            <a href={api} target="_blank" rel="noopener">
              {api}
            </a>
          </p>
        </>
      )}
    </section>
  );
}

export function VersionDetail({ model, version: v }) {
  return (
    <section class="panel version-detail" id={`detail-v${v.version}`} aria-label={`Version ${v.version}`}>
      <header class="panel-head">
        <h2>
          {model.name} <span class="mono">v{v.version}</span>
          {v.aliases.map((a) => (
            <span class="alias-chip">{a}</span>
          ))}
        </h2>
        <span class="muted small">
          {v.flavor} · {bytes(v.size)} · <span title={datetime(v.created_at)}>{ago(v.created_at)}</span> ·{" "}
          <span class="mono" title={`sha256 ${v.sha256}`}>
            {v.sha256.slice(0, 12)}
          </span>
        </span>
      </header>
      <div class="version-body">
        <div>
          <h3>Lineage</h3>
          <Lineage lineage={v.lineage} />
        </div>
        <VersionActions name={model.name} version={v.version} />
      </div>
    </section>
  );
}
