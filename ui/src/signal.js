// A tiny shared value that components can subscribe to (session, toasts).
import { useEffect, useState } from "preact/hooks";

export function signal(initial) {
  let value = initial;
  const subs = new Set();
  return {
    get: () => value,
    set(next) {
      value = next;
      subs.forEach((s) => s(next));
    },
    use() {
      const [v, setV] = useState(value);
      useEffect(() => {
        subs.add(setV);
        setV(value);
        return () => subs.delete(setV);
      }, []);
      return v;
    },
  };
}
