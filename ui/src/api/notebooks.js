// Notebooks: list, create, import, read, save (as the next revision), rename, export and delete.
import { useEffect, useMemo, useState } from "preact/hooks";
import { API, all, api, del, get, post, put } from "./client.js";

const path = (id) => `/notebooks/${encodeURIComponent(id)}`;

/** The tenant's notebooks, or those of one kind ("analytics", "processing"). */
export const listNotebooks = (kind) => all("/notebooks", kind ? { kind } : {});

/** A notebook with its content (`notebook`, nbformat v4) and its revision. */
export const getNotebook = (id) => get(path(id));

export const createNotebook = ({ name, kind, notebook }) => post("/notebooks", { name, kind, notebook });

/** Import an .ipynb file as a new notebook. */
export function importNotebook(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return api("POST", "/notebooks/import", { body: form });
}

/** Save the content as the revision after `revision` (409 when another came first). */
export const saveNotebook = (id, { notebook, revision }) => put(path(id), { notebook, revision });

/** The same save, sent so that it completes after the page is gone (a tab closing). */
export const saveNotebookOnLeave = (id, { notebook, revision }) => api("PUT", path(id), { json: { notebook, revision }, keepalive: true });

export const renameNotebook = (id, name) => put(path(id), { name });

/** The latest revision's record (revision, created_at), or undefined. */
export const latestRevision = async (id) => (await get(`${path(id)}/revisions`, { limit: 1 })).items[0];

export const deleteNotebook = (id) => del(path(id));

/** Where the notebook downloads as an .ipynb file. */
export const notebookIpynbUrl = (id) => `${API}${path(id)}/ipynb`;

/** The tenant's notebooks, loaded once, and their names by id: [list, names, error]. */
export function useNotebooks() {
  const [list, setList] = useState(undefined);
  const [error, setError] = useState(null);
  useEffect(() => {
    listNotebooks().then(setList, setError);
  }, []);
  const names = useMemo(() => Object.fromEntries((list || []).map((n) => [n.id, n.name])), [list]);
  return [list, names, error];
}
