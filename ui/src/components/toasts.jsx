// Toasts: short confirmations and failures, bottom right.
import { signal } from "../signal.js";

export const toasts = signal([]);
let toastId = 0;
export function toast(text, kind = "ok") {
  const id = ++toastId;
  toasts.set([...toasts.get(), { id, text, kind }]);
  setTimeout(() => toasts.set(toasts.get().filter((t) => t.id !== id)), kind === "bad" ? 8000 : 3500);
}

export function Toasts() {
  const list = toasts.use();
  return (
    <div class="toasts" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}
