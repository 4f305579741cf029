// Choosing a notebook, analytics and processing apart.
import { useEffect, useRef } from "preact/hooks";
import { Field } from "./controls.jsx";

export function NotebookSelect({ notebooks, value, onChange, label = "Notebook" }) {
  const ref = useRef();
  useEffect(() => {
    if (!value && ref.current) ref.current.focus();
  }, []);
  const groups = [
    ["Analytics", (notebooks || []).filter((n) => n.kind !== "processing")],
    ["Processing", (notebooks || []).filter((n) => n.kind === "processing")],
  ].filter(([, l]) => l.length);
  return (
    <Field label={label}>
      <select ref={ref} value={value} onChange={(e) => onChange(e.target.value)} required>
        <option value="" disabled>
          Choose a notebook…
        </option>
        {groups.map(([name, list]) => (
          <optgroup label={name}>
            {list.map((n) => (
              <option value={n.id}>{n.name}</option>
            ))}
          </optgroup>
        ))}
      </select>
    </Field>
  );
}
