import { Page } from "../ui.jsx";

export function DataPage() {
  return <Page title="DataPage">Coming in this change.</Page>;
}
