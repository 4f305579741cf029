// Who is logged in, and in which tenant the UI acts.
import { ApiError, get, post, setTenantCookie } from "./api.js";
import { signal } from "./signal.js";

// undefined: not known yet; null: logged out; else GET /me's answer.
export const session = signal(undefined);

export async function loadSession() {
  try {
    session.set(await get("/me"));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
      if (e.status === 404) setTenantCookie(""); // the remembered tenant is gone
      session.set(null);
    } else throw e;
  }
}

export async function login(user, password) {
  const answer = await post("/auth/login", { user, password });
  setTenantCookie(answer.tenant);
  await loadSession();
}

export async function logout() {
  try {
    await post("/auth/logout");
  } finally {
    session.set(null);
  }
}

export async function switchTenant(name) {
  setTenantCookie(name);
  await loadSession();
}
