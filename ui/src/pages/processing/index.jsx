// Processing: processors (processing notebooks bound to streams), deployed from a dialog and
// followed live: counters, throughput, the actions they record, their dead letters and logs.
import "./processing.css";
import { match } from "../../router.jsx";
import { ProcessorList } from "./list.jsx";
import { ProcessorView } from "./processor.jsx";

export function ProcessingPage({ path }) {
  const m = match("/processing/:id", path);
  if (m) return <ProcessorView key={m.id} id={m.id} />;
  return <ProcessorList />;
}
