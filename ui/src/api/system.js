// The tenant's overview, and the server's notices.
import { get } from "./client.js";

export const getSummary = () => get("/summary");

/** What the server says to every signed-in user now (the demo loading): [{id, text, done, total}]. */
export const listNotices = async () => (await get("/notices")).items;
