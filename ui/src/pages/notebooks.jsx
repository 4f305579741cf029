import { Page } from "../ui.jsx";

export function NotebooksPage() {
  return <Page title="NotebooksPage">Coming in this change.</Page>;
}
