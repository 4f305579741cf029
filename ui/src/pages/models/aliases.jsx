// A model's aliases: chips, and the panel that moves one (pick a version), rolls it back (to the
// next lower version) or deletes it (after a confirmation); a new alias from the same dialog.
import { useState } from "preact/hooks";
import { deleteAlias, setAlias } from "../../api/models.js";
import { Button, Field } from "../../components/controls.jsx";
import { Confirm, Modal } from "../../components/modal.jsx";
import { Empty, ErrorBox } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { Link } from "../../router.jsx";
import { previousVersion } from "./metrics.js";

const ALIAS_RE = /^[a-z][a-z0-9_-]{0,63}$/;

/** {alias: version} as chips "champion v3", each linking to its version. */
export function AliasChips({ aliases, name, empty = null }) {
  const entries = Object.entries(aliases || {});
  if (!entries.length) return empty;
  return (
    <span class="alias-chips">
      {entries.map(([alias, version]) => (
        <Link class="alias-chip" href={`/models/${encodeURIComponent(name)}#v${version}`} title={`${alias} names version ${version}`}>
          {alias} <span class="alias-v">v{version}</span>
        </Link>
      ))}
    </span>
  );
}

function AliasDialog({ model, alias, onClose, onDone }) {
  const [name, setName] = useState(alias || "");
  const current = alias ? model.aliases[alias] : null;
  const other = model.versions.find((v) => v.version !== current);
  const [version, setVersion] = useState(String(alias ? (other?.version ?? current) : model.latest_version));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const a = name.trim();
    if (!ALIAS_RE.test(a)) return setError("An alias is a lowercase name: letters, digits, - and _.");
    setBusy(true);
    try {
      onDone(await setAlias(model.name, a, Number(version)));
      toast(`${a} now names v${version}`);
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={alias ? `Move ${alias}` : "New alias"}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="alias-form" busy={busy}>
            {alias ? "Move alias" : "Set alias"}
          </Button>
        </>
      }
    >
      <form id="alias-form" onSubmit={submit}>
        {!alias && (
          <Field label="Alias" hint="champion, challenger, any lowercase name">
            <input value={name} onInput={(e) => setName(e.target.value)} placeholder="champion" spellcheck={false} />
          </Field>
        )}
        <Field
          label="Version"
          hint={current ? `${alias} names v${current} now; processors that follow it switch within a second.` : undefined}
        >
          <select value={version} onChange={(e) => setVersion(e.target.value)}>
            {model.versions.map((v) => (
              <option value={String(v.version)}>
                v{v.version}
                {v.version === current ? " (now)" : ""}
                {v.version === model.latest_version ? " · latest" : ""}
              </option>
            ))}
          </select>
        </Field>
        <ErrorBox error={error} />
      </form>
    </Modal>
  );
}

export function AliasPanel({ model, onChange, onChoose }) {
  const [moving, setMoving] = useState(null); // an alias, or "" for a new one
  const [deleting, setDeleting] = useState(null);
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const entries = Object.entries(model.aliases).sort(([a], [b]) => a.localeCompare(b));
  const rollBack = async (alias, to) => {
    setBusy(alias);
    setError(null);
    try {
      onChange(await setAlias(model.name, alias, to));
      toast(`${alias} rolled back to v${to}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <section class="panel" aria-label="Aliases">
      <header class="panel-head">
        <h2>Aliases</h2>
        <Button small onClick={() => setMoving("")}>
          + New alias
        </Button>
      </header>
      <ErrorBox error={error} onClose={() => setError(null)} />
      {entries.length === 0 ? (
        <Empty>No aliases. An alias such as champion names the version processors load.</Empty>
      ) : (
        <ul class="alias-list">
          {entries.map(([alias, version]) => {
            const prev = previousVersion(model.versions, version);
            return (
              <li class="alias-row" key={alias} aria-label={`Alias ${alias}`}>
                <div class="alias-what">
                  <strong class="alias-name">{alias}</strong>
                  <span class="muted">→</span>
                  <button class="linkish mono alias-target" onClick={() => onChoose(version)} aria-label={`Show version ${version}`}>
                    v{version}
                  </button>
                </div>
                <div class="alias-actions">
                  <Button small onClick={() => setMoving(alias)} aria-label={`Move ${alias}`}>
                    Move…
                  </Button>
                  <Button
                    small
                    busy={busy === alias}
                    disabled={prev === null}
                    title={prev === null ? "No lower version to roll back to" : `Point ${alias} at v${prev}`}
                    onClick={() => rollBack(alias, prev)}
                    aria-label={prev === null ? `Roll back ${alias}` : `Roll back ${alias} to v${prev}`}
                  >
                    ↶ Roll back{prev !== null ? ` to v${prev}` : ""}
                  </Button>
                  <Button small kind="danger" onClick={() => setDeleting(alias)} aria-label={`Delete alias ${alias}`}>
                    Delete
                  </Button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {moving !== null && <AliasDialog model={model} alias={moving} onClose={() => setMoving(null)} onDone={onChange} />}
      {deleting && (
        <Confirm
          title={`Delete alias ${deleting}?`}
          message={`${deleting} stops naming v${model.aliases[deleting]} of ${model.name}; the version itself stays.`}
          confirmLabel="Delete alias"
          onConfirm={async () => {
            await deleteAlias(model.name, deleting);
            toast(`Alias ${deleting} deleted`);
            onChange(null);
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}
