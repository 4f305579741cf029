import { Page } from "../ui.jsx";

export function ProcessingPage() {
  return <Page title="ProcessingPage">Coming in this change.</Page>;
}
