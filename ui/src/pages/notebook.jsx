import { Page } from "../ui.jsx";

export function NotebookEditor() {
  return <Page title="NotebookEditor">Coming in this change.</Page>;
}
