// The Data page's tabs (objects, streams) and breadcrumbs.
import { Link, navigate } from "../../router.jsx";
import { Tabs } from "../../components/page.jsx";

export function DataTabs({ current }) {
  return (
    <Tabs
      tabs={[
        ["objects", "Objects"],
        ["streams", "Streams"],
      ]}
      current={current}
      onChange={(key) => navigate(key === "objects" ? "/data" : "/data/streams")}
    />
  );
}

export function Crumbs({ items }) {
  return (
    <nav class="data-crumbs" aria-label="Breadcrumb">
      {items.map(([href, label], i) => (
        <>
          {i > 0 && (
            <span class="data-crumb-sep" aria-hidden="true">
              /
            </span>
          )}
          {href ? <Link href={href}>{label}</Link> : <span aria-current="page">{label}</span>}
        </>
      ))}
    </nav>
  );
}
