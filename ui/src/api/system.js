// The tenant's overview: counts and recent activity.
import { get } from "./client.js";

export const getSummary = () => get("/summary");
