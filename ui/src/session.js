// Who is logged in, and in which tenant the UI acts.
import { getMe, logIn, logOut } from "./api/auth.js";
import { ApiError, setTenantCookie } from "./api/client.js";
import { signal } from "./signal.js";

// undefined: not known yet; null: logged out; else GET /me's answer.
export const session = signal(undefined);

export async function loadSession() {
  try {
    session.set(await getMe());
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
      if (e.status === 404) setTenantCookie(""); // the remembered tenant is gone
      session.set(null);
    } else throw e;
  }
}

export async function login(user, password) {
  const answer = await logIn(user, password);
  setTenantCookie(answer.tenant);
  await loadSession();
}

export async function logout() {
  try {
    await logOut();
  } finally {
    session.set(null);
  }
}

export async function switchTenant(name) {
  setTenantCookie(name);
  await loadSession();
}
