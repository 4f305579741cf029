// The one polling hook: fetch now, then again while the page is visible, never two at once.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

/**
 * Run `fn` now and every `ms` milliseconds (0: once) while the page shows; returns
 * [data, error, reload]. Options:
 * - `fast`, `active`: every `fast` ms instead while `active(data)` holds, and until the first
 *   answer (a run that is running, a list with queued runs);
 * - `keep`: when `deps` change, keep showing the last data until the next answer (the same
 *   thing fetched again) instead of starting empty (another thing).
 * An answer that comes after `deps` changed is dropped; an error keeps the last data.
 */
export function usePoll(fn, ms, deps = [], { fast = ms, active = null, keep = false } = {}) {
  const [state, setState] = useState({ data: undefined, error: null });
  const current = useRef({});
  current.current.fn = fn;
  current.current.active = active;
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = generation.current;
    try {
      const data = await current.current.fn();
      if (mine === generation.current) setState({ data, error: null });
      return data;
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error }));
      return undefined;
    }
  }, []);
  useEffect(() => {
    const mine = ++generation.current;
    if (!keep) setState({ data: undefined, error: null });
    let data;
    let last = Date.now();
    let busy = true;
    reload().then((d) => {
      data = d;
      busy = false;
    });
    if (!(ms > 0) && !(fast > 0)) return () => generation.current++; // once
    const tick = Math.min(ms > 0 ? ms : 1000, fast > 0 ? fast : 1000, 1000);
    const timer = setInterval(async () => {
      if (busy || document.visibilityState !== "visible" || mine !== generation.current) return;
      const hurry = data === undefined || (current.current.active && current.current.active(data));
      const wait = hurry ? fast : ms;
      if (!wait || Date.now() - last < wait) return;
      busy = true;
      last = Date.now();
      data = (await reload()) ?? data;
      busy = false;
    }, tick);
    return () => {
      clearInterval(timer);
      generation.current++;
    };
  }, deps);
  return [state.data, state.error, reload];
}
