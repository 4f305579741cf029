// A trial run of a processing notebook's handler in the editor's kernel: the Python sent, and
// the names the run queue and its result go by.

export const TRIAL = "trial"; // the queue's name for a trial run (not a cell)
export const TRIAL_MIME = "application/vnd.suricate.trial+json";

/** Python that hands one message to the notebook's handler, as a processor would. */
export function trialCode(message) {
  const raw = JSON.stringify(JSON.stringify(message)); // a JSON string is a Python string literal
  return `def __suricate_try():
    import json
    from IPython import get_ipython
    from IPython.display import display
    from suricate.kernel import handler
    ns = get_ipython().user_ns
    if not callable(ns.get("on_message")) and not callable(ns.get("on_batch")):
        raise NameError("on_message is not defined in the kernel: run the notebook's cells first")
    out = handler.process([json.loads(${raw})], ns, False)
    display({"${TRIAL_MIME}": out}, raw=True)
__suricate_try()
del __suricate_try`;
}
