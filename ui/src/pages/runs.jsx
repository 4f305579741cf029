import { Page } from "../ui.jsx";

export function RunsPage() {
  return <Page title="RunsPage">Coming in this change.</Page>;
}
