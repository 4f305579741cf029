// The Data page: versioned objects (upload with progress, browse, preview, versions, edit, delete)
// and streams (define, watch a live tail, send a test message, delete).
import "./data.css";
import { Link, match } from "../../router.jsx";
import { Page } from "../../components/page.jsx";
import { ObjectView } from "./object.jsx";
import { ObjectsView } from "./objects.jsx";
import { StreamsView } from "./streams.jsx";
import { StreamView } from "./stream.jsx";

export function DataPage({ path }) {
  let p;
  if (path === "/data" || path === "/data/" || path === "/data/objects") return <ObjectsView />;
  if ((p = match("/data/objects/:name", path))) return <ObjectView key={p.name} name={p.name} />;
  if (path === "/data/streams") return <StreamsView />;
  if ((p = match("/data/streams/:name", path))) return <StreamView key={p.name} name={p.name} />;
  return (
    <Page title="Not found">
      <p>
        No data page at {path}. <Link href="/data">Go to the objects</Link>.
      </p>
    </Page>
  );
}
