// A cell's outputs as the kernel's output messages build them (tested against the shared fixtures
// in tests/files/outputs/, which the server's Python is tested against too). Clearing and display
// ids as nbclient handles them; stream text merged as Jupyter shows it:
// - a stream output right after a stream output of the same name adds its text to it; a stored
//   stream's text is one string (the kernel may send a list of strings);
// - clear_output empties the list, at once or, with wait, just before the next output added
//   (update_display_data adds none, so it leaves the clear pending);
// - display_data and execute_result with a transient display_id are stored without `transient`,
//   and update_display_data replaces the data and metadata of each one stored with that id
//   (of none when none is); clearing forgets the cleared outputs' ids;
// - clear_output and update_display_data are never stored.

/** Text that nbformat may hold as a list of lines, as one string. */
export function joined(value) {
  return Array.isArray(value) ? value.join("") : value || "";
}

/** The state before a cell's first output. */
export function emptyOutputs() {
  return { outputs: [], clearPending: false, displayIds: {} };
}

const ADDED = new Set(["stream", "display_data", "execute_result", "error"]);

/** The state after one more output message (an nbformat v4 output, as the server streams it). */
export function mergeOutput(state, event) {
  const type = event.output_type;
  if (type === "clear_output") {
    return event.wait ? { ...state, clearPending: true } : emptyOutputs();
  }
  if (type === "update_display_data") {
    const targets = state.displayIds[event.transient?.display_id] || [];
    if (!targets.length) return state;
    const outputs = [...state.outputs];
    for (const i of targets) outputs[i] = { ...outputs[i], data: event.data, metadata: event.metadata || {} };
    return { ...state, outputs };
  }
  if (!ADDED.has(type)) return state;
  let { outputs, displayIds } = state.clearPending ? emptyOutputs() : state;
  const last = outputs[outputs.length - 1];
  if (type === "stream" && last && last.output_type === "stream" && last.name === event.name) {
    outputs = [...outputs.slice(0, -1), { ...last, text: joined(last.text) + joined(event.text) }];
    return { outputs, clearPending: false, displayIds };
  }
  const { transient, ...output } = event;
  if (type === "stream") output.text = joined(event.text);
  const id = transient?.display_id;
  if (id && (type === "display_data" || type === "execute_result")) {
    displayIds = { ...displayIds, [id]: [...(displayIds[id] || []), outputs.length] };
  }
  return { outputs: [...outputs, output], clearPending: false, displayIds };
}

/** The outputs that a list of output messages leaves. */
export function mergeOutputs(events) {
  return events.reduce(mergeOutput, emptyOutputs()).outputs;
}
