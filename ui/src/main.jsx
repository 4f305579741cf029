// The app: login, then a frame with the navigation, the tenant and user, the server's notices
// and the current page.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./app.css";
import { whenUnauthenticated } from "./api/client.js";
import { Link, navigate, useLocation, match } from "./router.jsx";
import { loadSession, session } from "./session.js";
import { TenantSwitcher, UserMenu } from "./components/account.jsx";
import { Notices } from "./components/notices.jsx";
import { ErrorBox, Loading } from "./components/page.jsx";
import { Toasts } from "./components/toasts.jsx";
import { LoginPage } from "./pages/login.jsx";
import { OverviewPage } from "./pages/overview.jsx";
import { DataPage } from "./pages/data/index.jsx";
import { NotebooksPage } from "./pages/notebooks.jsx";
import { NotebookEditor } from "./pages/notebook/index.jsx";
import { ProcessingPage } from "./pages/processing/index.jsx";
import { RunsPage } from "./pages/runs/index.jsx";
import { ModelsPage } from "./pages/models/index.jsx";
import { KernelsPage } from "./pages/kernels.jsx";
import favicon from "./favicon.svg";

const NAV = [
  ["/", "Overview"],
  ["/data", "Data"],
  ["/notebooks", "Notebooks"],
  ["/processing", "Processing"],
  ["/runs", "Runs"],
  ["/models", "Models"],
  ["/kernels", "Kernels"],
];

function current(path) {
  if (path === "/") return "/";
  return NAV.slice(1).find(([href]) => path === href || path.startsWith(href + "/"))?.[0];
}

function Shell({ me, path }) {
  const active = current(path);
  let page;
  let params;
  if (path === "/") page = <OverviewPage />;
  else if (path === "/data" || path.startsWith("/data/")) page = <DataPage path={path} />;
  else if (path === "/notebooks") page = <NotebooksPage />;
  else if ((params = match("/notebooks/:id", path))) page = <NotebookEditor id={params.id} />;
  else if (path === "/processing" || path.startsWith("/processing/")) page = <ProcessingPage path={path} />;
  else if (path === "/runs" || path.startsWith("/runs/")) page = <RunsPage path={path} />;
  else if (path === "/models" || path.startsWith("/models/")) page = <ModelsPage path={path} />;
  else if (path === "/kernels") page = <KernelsPage />;
  else
    page = (
      <section class="page">
        <h1>Not found</h1>
        <p>
          No page at {path}. <Link href="/">Go to the overview</Link>.
        </p>
      </section>
    );
  return (
    <div class="shell">
      <header class="topbar">
        <Link href="/" class="brand" aria-label="Suricate home">
          <span class="brand-mark" dangerouslySetInnerHTML={{ __html: favicon }} />
          Suricate
        </Link>
        <nav class="nav" aria-label="Main">
          {NAV.map(([href, label]) => (
            <Link href={href} class={"nav-link" + (active === href ? " active" : "")} aria-current={active === href ? "page" : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <div class="topbar-right">
          <TenantSwitcher me={me} />
          <UserMenu me={me} />
        </div>
      </header>
      <Notices />
      <main key={me.tenant}>{page}</main>
    </div>
  );
}

function App() {
  const me = session.use();
  const { path } = useLocation();
  const [error, setError] = useState(null);
  useEffect(() => {
    whenUnauthenticated(() => session.set(null));
    loadSession().catch(setError);
  }, []);
  useEffect(() => {
    if (me === null && path !== "/login") navigate("/login?next=" + encodeURIComponent(path + location.search), { replace: true });
    if (me && path === "/login") navigate(new URLSearchParams(location.search).get("next") || "/", { replace: true });
  }, [me, path]);
  if (error)
    return (
      <div class="page">
        <ErrorBox error={error} />
      </div>
    );
  if (me === undefined) return <Loading />;
  return (
    <>
      {me === null ? <LoginPage /> : <Shell me={me} path={path} />}
      <Toasts />
    </>
  );
}

render(<App />, document.getElementById("app"));
