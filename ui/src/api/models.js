// Models: named series of versions (artifact, metrics, params, lineage) and their aliases.
import { all, del, get, put } from "./client.js";

const path = (name) => `/models/${encodeURIComponent(name)}`;

/** Every model of the tenant, by name. */
export const listModels = () => all("/models");

/** A model with its versions, newest first. */
export const getModel = (name) => get(path(name));

/** Point an alias at a version (promote, move, roll back); answers the model. */
export const setAlias = (name, alias, version) => put(`${path(name)}/aliases/${encodeURIComponent(alias)}`, { version });

/** Remove an alias; its version stays. */
export const deleteAlias = (name, alias) => del(`${path(name)}/aliases/${encodeURIComponent(alias)}`);
