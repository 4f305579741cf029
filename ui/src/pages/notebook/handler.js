// A trial run of a processing notebook's handler in the editor's kernel: the Python sent, and
// the names the run queue and its result go by.

export const TRIAL = "trial"; // the queue's name for a trial run (not a cell)
export const TRIAL_MIME = "application/vnd.suricate.trial+json";

/** Python that hands one message ({text, headers}) to the notebook's handler, as a processor would. */
export function trialCode(message) {
  // The message as processors pass it to suricate.kernel.handler: its body in the wire's form.
  const wire = { body: { text: message.text }, headers: message.headers, stream: "try", id: "try" };
  const raw = JSON.stringify(JSON.stringify(wire)); // a JSON string is a Python string literal
  return `from suricate.kernel import handler as __suricate_handler
__suricate_handler.try_message(${raw})
del __suricate_handler`;
}
