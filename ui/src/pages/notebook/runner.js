// The editor's kernel: the notebook's session (reused when one is running, as in JupyterLab;
// leaving the page keeps it), its WebSocket, the run queue, and trial runs of a processing
// notebook's handler. `Model` (model.js) extends it with the notebook itself; from it this uses
// info, cells, cell(), index(), patch(), changed(), select() and insert().
import { ApiError } from "../../api/client.js";
import { interruptSession, listSessions, openSessionSocket, restartSession, startSession, stopSession } from "../../api/sessions.js";
import { emptyOutputs, mergeOutput } from "../../outputs.js";
import { TRIAL, TRIAL_MIME, trialCode } from "./handler.js";
import { toast } from "../../components/toasts.jsx";

export class Runner {
  constructor() {
    this.listeners = new Set();
    this.run = {}; // cell id (or TRIAL) -> "queued" | "running"
    this.errors = {}; // cell id -> a message shown in place (not saved)
    this.queue = [];
    this.current = null;
    this.kernel = "none"; // starting, connecting, idle, busy, restarting, stopping, dead, disconnected
    this.kernelError = null;
    this.session = null; // the session's id
    this.sessionInfo = null; // node, created_at
    this.ws = null;
    this.merged = emptyOutputs(); // what ran last: its outputs so far, as mergeOutput keeps them
    this.trial = null; // the last trial run: { message, outputs, result, error }
    this.disposed = false;
  }

  emit() {
    if (this.emitting) return;
    this.emitting = true;
    queueMicrotask(() => {
      this.emitting = false;
      this.listeners.forEach((l) => l());
    });
  }

  // -- running ---------------------------------------------------------------------------------
  runCell(id, advance) {
    const i = this.index(id);
    if (i < 0) return;
    const cell = this.cells[i];
    if (cell.cell_type === "code") this.enqueue(id);
    if (!advance) {
      if (cell.cell_type !== "code") this.select(id, "command");
      return;
    }
    const next = this.cells[i + 1];
    if (!next) this.insert(i + 1, "code", "edit");
    else this.select(next.id, next.cell_type === "code" ? "edit" : "command", true, "start");
  }

  runAll() {
    if (this.editing && this.cell(this.editing)?.cell_type !== "code") this.editing = null;
    this.cells.forEach((c) => c.cell_type === "code" && this.enqueue(c.id));
    this.emit();
  }

  enqueue(id) {
    const cell = this.cell(id);
    if (!cell || this.run[id]) return;
    this.past?.replace(id); // its own outputs from now on, not a past run's
    delete this.errors[id];
    if (!cell.source.trim()) {
      this.clearOutputs([id]); // as in Jupyter: an empty cell runs nothing
      return;
    }
    this.run[id] = "queued";
    this.queue.push(id);
    this.emit();
    this.pump();
  }

  /** Hand one message ({text, headers}) to the handler in this kernel, after what is queued. */
  tryMessage(message) {
    if (this.run[TRIAL]) return;
    this.trial = { message, outputs: [], result: null, error: null };
    this.run[TRIAL] = "queued";
    this.queue.push(TRIAL);
    this.emit();
    this.pump();
  }

  dequeue(id) {
    if (this.run[id] === "queued") delete this.run[id];
    this.queue = this.queue.filter((q) => q !== id);
  }

  cancelQueue() {
    for (const id of this.queue) delete this.run[id];
    this.queue = [];
  }

  async pump() {
    if (this.current || this.pumping || !this.queue.length) return;
    this.pumping = true;
    try {
      await this.ensureKernel();
    } catch (e) {
      this.kernelError = e;
      this.cancelQueue();
      this.emit();
      return;
    } finally {
      this.pumping = false;
    }
    if (this.current) return;
    if (!this.ws) {
      this.cancelQueue();
      this.emit();
      return;
    }
    const id = this.queue.shift();
    if (!id) return;
    if (this.run[id] !== "queued") return this.pump();
    let code;
    if (id === TRIAL) {
      code = trialCode(this.trial.message);
    } else {
      const cell = this.cell(id);
      if (!cell) return this.pump();
      code = cell.source;
      this.patch(id, { outputs: [], execution_count: null });
    }
    this.current = id;
    this.merged = emptyOutputs();
    this.run[id] = "running";
    this.kernel = "busy";
    this.ws.send(JSON.stringify({ type: "execute", code, cell: id }));
    this.emit();
  }

  /** What ran stopped: keep its count and outputs, then run the next one. */
  finish(id, failed, message) {
    if (id !== this.current) return;
    this.current = null;
    delete this.run[id];
    if (id === TRIAL) {
      if (message) this.trial = { ...this.trial, error: message };
      this.emit();
    } else {
      if (message) this.errors[id] = message;
      if (failed) this.cancelQueue(); // as in Jupyter: an error stops "run all"
      this.changed();
    }
    this.pump();
  }

  output(id, output) {
    if (id === TRIAL) {
      const result = output.data?.[TRIAL_MIME];
      if (result) this.trial = { ...this.trial, result };
      else {
        this.merged = mergeOutput(this.merged, output);
        this.trial = { ...this.trial, outputs: this.merged.outputs };
      }
      return;
    }
    if (!this.cell(id)) return;
    this.merged = mergeOutput(this.merged, output);
    this.patch(id, { outputs: this.merged.outputs });
    this.changed();
  }

  onEvent(event) {
    switch (event.type) {
      case "status": {
        const state = event.execution_state;
        if (state === "dead") {
          this.session = null;
          this.kernel = "dead";
          if (this.current) this.finish(this.current, true, "The kernel stopped.");
          this.ws?.close();
        } else if (state === "restarted") {
          if (this.kernel !== "restarting") this.kernel = "idle";
        } else if (this.kernel !== "restarting" && this.kernel !== "stopping") {
          // Busy also when another tab (or a script) runs code in this kernel.
          this.kernel = state === "busy" || this.current ? "busy" : "idle";
        }
        break;
      }
      case "output":
        if (event.cell && event.cell === this.current) this.output(event.cell, event.output);
        break;
      case "result": {
        const id = event.cell;
        if (!id || id !== this.current) break;
        const failed = event.status === "error";
        let shown;
        if (id === TRIAL) shown = this.trial.outputs.some((o) => o.output_type === "error");
        else if (this.cell(id)) {
          this.patch(id, { execution_count: event.execution_count ?? null });
          shown = this.cell(id).outputs.some((o) => o.output_type === "error");
        } else break;
        const message = failed && !shown ? `${event.ename || "Error"}: ${event.evalue || "the cell failed"}` : null;
        this.finish(id, failed, message);
        break;
      }
      case "error":
        if (event.code === "session_not_found") {
          this.session = null;
          this.kernel = "dead";
        }
        if (event.cell && event.cell === this.current) this.finish(event.cell, true, event.message);
        else this.kernelError = new ApiError(0, event.code, event.message);
        break;
      default:
        return;
    }
    this.emit();
  }

  // -- the kernel session ----------------------------------------------------------------------
  ensureKernel() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = null;
        this.emit();
      });
    }
    return this.starting;
  }

  /** Connect to the notebook's session: the one running (from an earlier visit, another tab),
   * else a new one. */
  async start() {
    if (this.stopping) await this.stopping.catch(() => {}); // not the session being shut down
    this.kernelError = null;
    if (!this.session) {
      this.kernel = "connecting";
      this.emit();
      try {
        const items = await listSessions();
        const mine = items.filter((s) => s.notebook_id === this.info.id);
        const found = mine[mine.length - 1]; // the newest, should there be several
        if (found) this.useSession(found);
      } catch {
        // no list: start one
      }
    }
    if (this.session) {
      this.kernel = "connecting";
      this.emit();
      try {
        await this.connect();
        return;
      } catch {
        this.session = null; // gone (culled, or the server restarted): start another
      }
    }
    if (this.disposed) return;
    this.kernel = "starting";
    this.emit();
    try {
      const session = await startSession(this.info.id);
      this.useSession(session);
      if (this.disposed) return; // kept: the next visit reuses it
      await this.connect();
    } catch (e) {
      this.kernel = "dead";
      this.kernelError = e;
      throw e;
    }
  }

  useSession(session) {
    this.session = session.id;
    this.sessionInfo = { node: session.node, created_at: session.created_at };
  }

  connect() {
    return new Promise((resolve, reject) => {
      if (this.disposed) return resolve();
      const ws = openSessionSocket(this.session);
      let opened = false;
      ws.onopen = () => {
        opened = true;
        if (this.disposed) {
          ws.close();
          return resolve();
        }
        this.ws = ws;
        this.kernel = "idle"; // until the socket's first event says whether it is busy
        this.emit();
        resolve();
      };
      ws.onmessage = (m) => {
        if (this.ws !== ws) return; // an old socket, closed on purpose
        try {
          this.onEvent(JSON.parse(m.data));
        } catch (e) {
          console.error("bad kernel event", e);
        }
      };
      ws.onclose = (e) => {
        if (!opened) {
          reject(new Error(e.reason || "the kernel connection was refused"));
          return;
        }
        if (this.ws !== ws) return; // replaced, or closed on purpose
        this.ws = null;
        if (this.disposed) return;
        if (this.current) this.finish(this.current, true, "Lost the connection to the kernel.");
        this.cancelQueue();
        if (this.kernel !== "dead") this.kernel = "disconnected";
        this.emit();
      };
    });
  }

  stopRunning() {
    this.cancelQueue();
    if (this.current) {
      delete this.run[this.current];
      this.current = null;
    }
  }

  async interrupt() {
    this.cancelQueue();
    this.emit();
    if (!this.session) return;
    try {
      await interruptSession(this.session);
    } catch (e) {
      toast("Interrupt failed: " + e.message, "bad");
    }
  }

  async restart() {
    this.stopRunning();
    if (!this.session || !this.ws) {
      this.emit();
      await this.ensureKernel().catch(() => {});
      return;
    }
    this.kernel = "restarting";
    this.kernelError = null;
    this.emit();
    try {
      await restartSession(this.session);
      this.kernel = "idle";
      toast("Kernel restarted");
    } catch (e) {
      this.kernel = "dead";
      this.kernelError = e;
    }
    this.emit();
  }

  /** Stop the kernel (its variables are lost); the next run starts a new one. */
  async shutdown() {
    const id = this.session;
    if (!id || this.stopping) return;
    const ws = this.ws;
    this.stopRunning();
    this.session = null;
    this.ws = null;
    ws?.close();
    this.kernel = "stopping";
    this.kernelError = null;
    this.emit();
    let stopped = true;
    this.stopping = stopSession(id);
    try {
      await this.stopping;
    } catch (e) {
      stopped = e.status === 404; // already gone
      if (!stopped) this.kernelError = e;
    } finally {
      this.stopping = null;
    }
    if (!this.session && !this.starting) this.kernel = stopped ? "dead" : "disconnected";
    if (stopped) toast("Kernel shut down");
    this.emit();
  }

  /** Leave the page: the session goes on (its variables wait for the next visit). */
  disconnect() {
    this.disposed = true;
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}
