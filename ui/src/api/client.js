// The one way the UI talks to the server: the public REST API, with the session cookie.
// Calls that change data carry the session's CSRF token; errors come back as ApiError.
// Pages do not call it: they call the functions of the resource modules beside it
// (objects.js, notebooks.js, runs.js...), one for each request.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const API = "/api/v1";

export function cookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

export function setTenantCookie(tenant) {
  document.cookie = `suricate_tenant=${encodeURIComponent(tenant)}; path=/; samesite=strict`;
}

let onUnauthenticated = () => {};
export function whenUnauthenticated(handler) {
  onUnauthenticated = handler;
}

function headers(method, extra) {
  const h = { Accept: "application/json", ...extra };
  if (!["GET", "HEAD"].includes(method)) h["X-CSRF-Token"] = cookie("suricate_csrf") || "";
  return h;
}

async function failure(response) {
  let code = "http_" + response.status;
  let message = response.statusText || "request failed";
  try {
    const body = await response.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch {
    /* not JSON: keep the status text */
  }
  if (response.status === 401) onUnauthenticated();
  return new ApiError(response.status, code, message);
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.append(k, v);
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

/** Call the API: api("GET", "/objects", {query, json, body, headers, raw, keepalive}). */
export async function api(method, path, options = {}) {
  const init = { method, headers: headers(method, options.headers), credentials: "same-origin" };
  if (options.keepalive) init.keepalive = true; // outlives the page (a save as the tab closes)
  if (options.json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    init.body = options.body;
  }
  let response;
  try {
    response = await fetch(API + path + query(options.query), init);
  } catch (e) {
    throw new ApiError(0, "network", "The server cannot be reached: " + e.message);
  }
  if (!response.ok) throw await failure(response);
  if (options.raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path, q) => api("GET", path, { query: q });
export const post = (path, json) => api("POST", path, { json });
export const put = (path, json) => api("PUT", path, { json });
export const del = (path) => api("DELETE", path);

/** Fetch every page of a paged list (items + next). */
export async function all(path, q = {}, limit = 2000) {
  const items = [];
  let cursor;
  do {
    const page = await get(path, { ...q, cursor, limit: 200 });
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < limit);
  return items;
}

/** PUT a file at `path`, reporting progress (0..1, bytes sent); resolves to the JSON answer. */
export function upload(path, file, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", API + path);
    xhr.setRequestHeader("X-CSRF-Token", cookie("suricate_csrf") || "");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total, e.loaded);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* empty */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const err = (body && body.error) || { code: "http_" + xhr.status, message: xhr.statusText };
        if (xhr.status === 401) onUnauthenticated();
        reject(new ApiError(xhr.status, err.code, err.message));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "The upload was cut off."));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "Upload cancelled."));
    if (signal) signal.addEventListener("abort", () => xhr.abort());
    xhr.send(file);
  });
}
