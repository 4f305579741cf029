// Models: the tenant's models (list), and one model's page: versions and their metrics, aliases
// (move, roll back, delete), a version's lineage and the actions made with it.
import "./models.css";
import { match } from "../../router.jsx";
import { ModelList } from "./list.jsx";
import { ModelView } from "./model.jsx";

export function ModelsPage({ path }) {
  const m = match("/models/:name", path);
  if (m) return <ModelView key={m.name} name={m.name} />;
  return <ModelList />;
}
