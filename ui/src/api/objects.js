// Versioned objects: list, read, preview, upload, describe and delete.
import { API, all, api, del, get, upload } from "./client.js";

const path = (name) => `/objects/${encodeURIComponent(name)}`;

export const listObjects = () => all("/objects");

export const getObject = (name) => get(path(name));

/** The first rows of a version as a table: {format, columns, dtypes, rows}. */
export const previewObject = (name, { version, rows }) => get(`${path(name)}/preview`, { version, rows });

export const updateObject = (name, { description, tags }) => api("PATCH", path(name), { json: { description, tags } });

export const deleteObject = (name) => del(path(name));

/** Upload a file as the next version of `name`, reporting progress (0..1, bytes sent). */
export const uploadObject = (name, file, onProgress, signal) => upload(path(name), file, onProgress, signal);

/** Where a version's bytes download from (the latest without `version`). */
export const objectContentUrl = (name, version) => `${API}${path(name)}/content${version ? `?version=${version}` : ""}`;
