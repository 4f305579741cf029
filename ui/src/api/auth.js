// Who is logged in: GET /me, log in and out.
import { get, post } from "./client.js";

/** The user, their role, the tenant the UI acts in and the tenants they belong to. */
export const getMe = () => get("/me");

/** Log in; answers the tenant the session starts in. */
export const logIn = (user, password) => post("/auth/login", { user, password });

export const logOut = () => post("/auth/logout");
