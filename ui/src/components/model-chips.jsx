// The model versions an action was made with, as chips linking to the model's page.
import { Link } from "../router.jsx";
import "./model-chips.css";

export const versionHref = (name, version) => `/models/${encodeURIComponent(name)}#v${version}`;

/** `models` ({name: version}) as chips "name v3"; nothing when there are none. */
export function ModelChips({ models, label = "Models" }) {
  const entries = Object.entries(models || {});
  if (!entries.length) return null;
  return (
    <span class="model-chips" aria-label={label}>
      {entries.map(([name, version]) => (
        <Link class="model-chip" href={versionHref(name, version)} title={`Made with ${name} version ${version}`}>
          <span class="model-chip-icon" aria-hidden="true">
            ◆
          </span>
          {name} <span class="model-chip-v">v{version}</span>
        </Link>
      ))}
    </span>
  );
}
