// The editor's header and toolbar: the title (rename), the save status, the run/kernel toolbar
// and the kernel status.
import { useEffect, useRef, useState } from "preact/hooks";
import { ago } from "../../format.js";
import { Button } from "../../components/controls.jsx";
import { ErrorBox } from "../../components/page.jsx";
import { toast } from "../../components/toasts.jsx";
import { TYPES } from "./cells.jsx";
import { Icon } from "./icons.jsx";

const KERNEL_LABEL = {
  none: ["muted", "No kernel"],
  starting: ["run", "Starting…"],
  connecting: ["run", "Connecting…"],
  idle: ["ok", "Idle"],
  busy: ["run", "Busy"],
  restarting: ["wait", "Restarting…"],
  stopping: ["wait", "Shutting down…"],
  dead: ["bad", "Stopped"],
  disconnected: ["bad", "Disconnected"],
};

function kernelTitle(model) {
  if (model.kernel === "dead") {
    return "No kernel: it was shut down, or the server stopped it (idle too long, or no page showed it for a few minutes). The next run starts a new one.";
  }
  const info = model.session && model.sessionInfo;
  if (!info) return "Python 3 kernel";
  return `Python 3 kernel on ${info.node}, started ${ago(info.created_at)}; it keeps running a while when you leave this page (Kernels lists it)`;
}

function KernelStatus({ model }) {
  const [kind, label] = KERNEL_LABEL[model.kernel] || KERNEL_LABEL.none;
  return (
    <span class="kernel-status" title={kernelTitle(model)} aria-live="polite">
      <span class="kernel-name">Python 3</span>
      <span class={`badge badge-${kind} kernel-badge`} data-state={model.kernel}>
        <span class={`kernel-dot dot-${kind}`} aria-hidden="true" />
        {label}
      </span>
    </span>
  );
}

export function Toolbar({ model }) {
  const active = model.cell(model.active);
  const busy = Boolean(model.current || model.queue.length);
  const down = ["dead", "disconnected", "none"].includes(model.kernel);
  const changing = ["restarting", "starting", "stopping"].includes(model.kernel);
  return (
    <div class="nb-toolbar" role="toolbar" aria-label="Notebook">
      <Button
        small
        onClick={() => active && model.runCell(active.id, true)}
        title="Run the selected cell and select the next (Shift+Enter)"
      >
        <Icon name="play" /> Run
      </Button>
      <Button small onClick={() => model.runAll()} title="Run every code cell from the top">
        <Icon name="runAll" /> Run all
      </Button>
      <Button small onClick={() => model.interrupt()} disabled={!busy} title="Interrupt the kernel (I, I)">
        <Icon name="stop" /> Interrupt
      </Button>
      <Button small onClick={() => model.restart()} disabled={changing} title="Restart the kernel: variables are lost (0, 0)">
        <Icon name="restart" /> {down ? "Start kernel" : "Restart"}
      </Button>
      <Button
        small
        kind="ghost"
        onClick={() => model.shutdown()}
        disabled={!model.session || changing}
        title="Shut down the kernel: variables are lost, the next run starts a new kernel. Leaving the page keeps it running."
      >
        <Icon name="power" /> Shut down kernel
      </Button>
      <span class="nb-sep" />
      <Button small onClick={() => model.insertNear(model.active, 1)} title="Insert a code cell below (B)">
        <Icon name="plus" /> Cell
      </Button>
      <select
        class="nb-type"
        aria-label="Selected cell type"
        value={active?.cell_type || "code"}
        onChange={(e) => active && model.setType(active.id, e.target.value, true)}
      >
        {TYPES.map(([v, l]) => (
          <option value={v}>{l}</option>
        ))}
      </select>
      <Button small kind="ghost" onClick={() => (model.clearOutputs(), model.past.hide())} title="Clear every cell's outputs">
        <Icon name="clear" /> Clear outputs
      </Button>
      <span class="spacer" />
      <KernelStatus model={model} />
    </div>
  );
}

export function SaveStatus({ model }) {
  const [state, text] = model.saveState();
  return (
    <span class={"nb-save nb-save-" + state} role="status" title={state === "saved" ? "Saved automatically" : undefined}>
      {state === "saving" && <span class="spinner" aria-hidden="true" />}
      {text}
    </span>
  );
}

export function Title({ model }) {
  const input = useRef();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const start = () => {
    setName(model.info.name);
    setError(null);
    setEditing(true);
  };
  const submit = async (e) => {
    e.preventDefault();
    if (name === model.info.name) return setEditing(false);
    setBusy(true);
    try {
      await model.rename(name.trim());
      setEditing(false);
      toast(`Renamed to ${name.trim()}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    if (editing && input.current) input.current.select();
  }, [editing]);
  if (!editing) {
    return (
      <h1 class="nb-title">
        <button type="button" class="nb-name" title="Rename" aria-label={`Rename notebook ${model.info.name}`} onClick={start}>
          {model.info.name}
        </button>
      </h1>
    );
  }
  return (
    <form class="nb-rename" onSubmit={submit}>
      <input
        aria-label="Notebook name"
        value={name}
        ref={input}
        onInput={(e) => setName(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && setEditing(false)}
      />
      <Button small kind="primary" type="submit" busy={busy}>
        Rename
      </Button>
      <Button small onClick={() => setEditing(false)}>
        Cancel
      </Button>
      {error && <ErrorBox error={error} />}
    </form>
  );
}
