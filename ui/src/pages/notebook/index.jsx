// The notebook editor: cells in CodeMirror, the notebook's kernel session over a WebSocket (kept
// when the page is left, as in JupyterLab), autosave with revision checks, export, rename, "run
// as job" and, for a processing notebook, trying its handler on a message. A `Model` outside Preact holds the
// notebook, the run queue and the kernel connection; the components draw it.
import "./notebook.css";
import { useEffect, useLayoutEffect, useMemo, useState } from "preact/hooks";
import { notebookIpynbUrl } from "../../api/notebooks.js";
import { Link } from "../../router.jsx";
import { Button } from "../../components/controls.jsx";
import { ErrorBox, Loading } from "../../components/page.jsx";
import { Cell } from "./cells.jsx";
import { ConflictBanner, JobStatus, RunJobDialog, ShortcutsDialog } from "./dialogs.jsx";
import { Icon } from "./icons.jsx";
import { Model } from "./model.js";
import { PastBar } from "./past.jsx";
import { DeployedProcessors } from "./deployed.jsx";
import { SaveStatus, Title, Toolbar } from "./toolbar.jsx";
import { ProcessingBanner } from "./trial.jsx";

function useModel(model) {
  const [, force] = useState(0);
  useEffect(() => {
    const listener = () => force((n) => n + 1);
    model.listeners.add(listener);
    return () => model.listeners.delete(listener);
  }, [model]);
}

export function NotebookEditor({ id }) {
  const model = useMemo(() => new Model(id), [id]);
  const [dialog, setDialog] = useState(null);
  const [job, setJob] = useState(null);
  useModel(model);

  useEffect(() => {
    model.open();
    const unload = () => model.close(true);
    const onKey = (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        if (model.info) model.save(true);
      }
    };
    // Back to a page the browser kept (back/forward cache): the editor closed on leaving; reopen.
    const shown = (e) => e.persisted && location.reload();
    window.addEventListener("pagehide", unload);
    window.addEventListener("beforeunload", unload);
    window.addEventListener("pageshow", shown);
    document.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("pagehide", unload);
      window.removeEventListener("beforeunload", unload);
      window.removeEventListener("pageshow", shown);
      document.removeEventListener("keydown", onKey);
      model.close();
    };
  }, [model]);

  useLayoutEffect(() => model.applyFocus());
  const name = model.info?.name;
  useEffect(() => {
    document.title = (name ? name + " · " : "") + "Notebook · Suricate";
  }, [name]);

  if (model.loadError) {
    return (
      <section class="page">
        <h1>Notebook</h1>
        <ErrorBox error={model.loadError} />
        <p>
          <Link href="/notebooks">Back to the notebooks</Link>
        </p>
      </section>
    );
  }
  if (!model.info) return <Loading label="Opening the notebook…" />;

  const exportIpynb = async (e) => {
    if (!model.dirty) return;
    e.preventDefault();
    const link = e.currentTarget;
    await model.save(true);
    link.click();
  };
  return (
    <section class="page nb-page">
      <header class="nb-head">
        <div class="nb-head-main">
          <nav class="nb-crumbs" aria-label="Breadcrumb">
            <Link href="/notebooks">Notebooks</Link>
            <span aria-hidden="true">/</span>
            <span class={"nb-kind nb-kind-" + model.info.kind}>{model.info.kind}</span>
          </nav>
          <Title model={model} />
        </div>
        <div class="nb-head-side">
          <SaveStatus model={model} />
          {job && <JobStatus run={job} onClose={() => setJob(null)} onDone={() => model.past.refresh()} />}
          <a class="btn btn-small" href={notebookIpynbUrl(model.info.id)} download={`${model.info.name}.ipynb`} onClick={exportIpynb}>
            <Icon name="download" /> Export .ipynb
          </a>
          <Button small onClick={() => setDialog("run")}>
            <Icon name="job" /> Run as job
          </Button>
          <Button small kind="ghost" aria-label="Keyboard shortcuts" title="Keyboard shortcuts" onClick={() => setDialog("keys")}>
            <kbd>?</kbd>
          </Button>
        </div>
      </header>
      <Toolbar model={model} />
      {model.conflict && <ConflictBanner model={model} />}
      {model.saveError && (
        <ErrorBox
          error={`Saving failed: ${model.saveError.message}. Press Ctrl+S to try again.`}
          onClose={() => ((model.saveError = null), model.emit())}
        />
      )}
      {model.kernelError && (
        <ErrorBox error={`Kernel: ${model.kernelError.message}`} onClose={() => ((model.kernelError = null), model.emit())} />
      )}
      {model.info.kind === "processing" && <DeployedProcessors model={model} />}
      {model.info.kind === "processing" && <ProcessingBanner model={model} />}
      <PastBar past={model.past} />
      <div class="nb-cells">
        {model.cells.map((cell, i) => (
          <Cell
            key={cell.id}
            model={model}
            cell={cell}
            index={i}
            total={model.cells.length}
            active={model.active === cell.id}
            editing={model.editing === cell.id}
            state={model.run[cell.id]}
            error={model.errors[cell.id]}
            past={model.past.outputsFor(cell)}
            pastRun={model.past.run}
          />
        ))}
        <div class="nb-add">
          <Button small kind="ghost" onClick={() => model.insert(model.cells.length, "code")}>
            <Icon name="plus" /> Code
          </Button>
          <Button small kind="ghost" onClick={() => model.insert(model.cells.length, "markdown")}>
            <Icon name="plus" /> Markdown
          </Button>
        </div>
      </div>
      {dialog === "run" && (
        <RunJobDialog
          model={model}
          onClose={() => setDialog(null)}
          onStarted={(run) => {
            setDialog(null);
            setJob(run);
          }}
        />
      )}
      {dialog === "keys" && <ShortcutsDialog onClose={() => setDialog(null)} />}
    </section>
  );
}
