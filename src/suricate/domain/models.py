"""Models: named, versioned artifacts with metrics, parameters, lineage and movable aliases.

A version's artifact is a blob of the tenant's object store (under ``<tenant>/models/``), in one
of three flavors: ``skops`` (scikit-learn estimators, loaded without running code), ``joblib``
(anything else; a pickle, so only ever loaded inside the tenant's own sandboxed kernel, never
by the server) or ``json`` (plain models such as the football tendencies). The server never
loads an artifact. An alias (``champion``, ``challenger``) names one version; moving it is how
a model is promoted or rolled back, and processors bound to the alias follow it.
"""

from __future__ import annotations

import builtins
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from suricate.domain.pagination import Page, keyset, page_of
from suricate.errors import InvalidInput, ModelNotFound, UploadTooLarge
from suricate.names import check_name
from suricate.store.blobs import ObjectStore
from suricate.store.db import Database
from suricate.store.tables import Model, ModelAlias, ModelVersion, utcnow

FLAVORS = ("skops", "joblib", "json")
ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}")
REF = re.compile(r"(?P<name>[^@/]+)(?:/(?P<version>[0-9]{1,9})|@(?P<alias>[^@/]+))?")
MAX_META_BYTES = 256 * 1024  # metrics, params and lineage together, as JSON
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ModelVersionInfo:
    name: str
    version: int
    flavor: str
    sha256: str
    size: int
    metrics: dict[str, Any]
    params: dict[str, Any]
    lineage: dict[str, Any]
    created_at: datetime
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    latest_version: int
    aliases: dict[str, int]
    created_at: datetime
    updated_at: datetime
    versions: list[ModelVersionInfo] = field(default_factory=list)


def artifact_key(tenant_id: int, sha256: str) -> str:
    """Where a tenant's model artifact with this digest lives in the store."""
    return f"{tenant_id}/models/{sha256[:2]}/{sha256}"


def check_alias(alias: str) -> str:
    """Return ``alias`` if it is a valid alias name."""
    if not ALIAS.fullmatch(alias):
        raise InvalidInput(
            f"invalid alias {alias!r}: use 1-64 lowercase letters, digits, '_' or '-', "
            "starting with a letter"
        )
    return alias


def _json_object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return value


class ModelService:
    """Log model versions, list and show them, resolve references, move aliases."""

    def __init__(self, db: Database, store: ObjectStore, max_bytes: int) -> None:
        self.db = db
        self.store = store
        self.max_bytes = max_bytes

    # Versions

    def log(
        self,
        tenant_id: int,
        user_id: int | None,
        name: str,
        flavor: str,
        artifact: BinaryIO,
        metrics: Any = None,
        params: Any = None,
        lineage: Any = None,
    ) -> ModelVersionInfo:
        """Store a new version of the model (made on first use); return it."""
        check_name("model", name)
        if flavor not in FLAVORS:
            raise InvalidInput(f"flavor must be one of {', '.join(FLAVORS)}")
        meta = {
            "metrics": _json_object(metrics, "metrics"),
            "params": _json_object(params, "params"),
            "lineage": _json_object(lineage, "lineage"),
        }
        if len(json.dumps(meta)) > MAX_META_BYTES:
            raise InvalidInput(f"metrics, params and lineage exceed {MAX_META_BYTES} bytes")
        writer = self.store.writer()
        try:
            while chunk := artifact.read(CHUNK):
                writer.write(chunk)
                if writer.size > self.max_bytes:
                    raise UploadTooLarge(self.max_bytes)
            if writer.size == 0:
                raise InvalidInput("the model's artifact is empty")
            digest = writer.sha256()
            writer.commit(artifact_key(tenant_id, digest))
        except BaseException:
            writer.discard()
            raise
        for _ in range(3):  # two writers may race for the next number: the loser takes another
            try:
                return self._add_version(
                    tenant_id, user_id, name, flavor, digest, writer.size, meta
                )
            except IntegrityError:
                continue
        raise InvalidInput(f"model {name!r} is being written by others; try again")

    def _add_version(
        self,
        tenant_id: int,
        user_id: int | None,
        name: str,
        flavor: str,
        digest: str,
        size: int,
        meta: dict[str, dict[str, Any]],
    ) -> ModelVersionInfo:
        with self.db.session() as s:
            model = s.scalar(select(Model).where(Model.tenant_id == tenant_id, Model.name == name))
            if model is None:
                model = Model(id=uuid.uuid4().hex, tenant_id=tenant_id, name=name)
                s.add(model)
                s.flush()
            latest = s.scalar(
                select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)
            )
            row = ModelVersion(
                tenant_id=tenant_id,
                model_id=model.id,
                version=(latest or 0) + 1,
                flavor=flavor,
                sha256=digest,
                size=size,
                metrics=json.dumps(meta["metrics"]),
                params=json.dumps(meta["params"]),
                lineage=json.dumps(meta["lineage"]),
                user_id=user_id,
                created_at=utcnow(),
            )
            s.add(row)
            model.updated_at = row.created_at
            s.flush()
            return _version(name, row, [])

    def open_artifact(self, tenant_id: int, ref: str) -> tuple[ModelVersionInfo, BinaryIO]:
        """The version a reference names, and its artifact's bytes."""
        info = self.resolve(tenant_id, ref)
        return info, self.store.open(artifact_key(tenant_id, info.sha256))

    # Reading

    def list(
        self, tenant_id: int, limit: int | None = None, cursor: str | None = None
    ) -> Page[ModelInfo]:
        """The tenant's models by name, each with its latest version and aliases."""
        with self.db.session() as s:
            query = select(Model).where(Model.tenant_id == tenant_id)
            query, limit = keyset(query, Model.name, cursor, limit)
            items = [self._info(s, row, versions=False) for row in s.scalars(query)]
            return page_of(items, limit, lambda m: m.name)

    def get(self, tenant_id: int, name: str) -> ModelInfo:
        """A model with every version (newest first) and its aliases."""
        with self.db.session() as s:
            return self._info(s, self._model(s, tenant_id, name), versions=True)

    def resolve(self, tenant_id: int, ref: str) -> ModelVersionInfo:
        """The version ``name``, ``name/3`` or ``name@alias`` names (``name``: the latest)."""
        match = REF.fullmatch(ref)
        if match is None:
            raise ModelNotFound(ref)
        with self.db.session() as s:
            model = self._model(s, tenant_id, match["name"])
            aliases = self._aliases(s, model.id)
            number: int | None
            if match["alias"] is not None:
                if match["alias"] not in aliases:
                    raise ModelNotFound(ref)
                number = aliases[match["alias"]]
            elif match["version"] is not None:
                number = int(match["version"])
            else:
                number = s.scalar(
                    select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)
                )
            row = s.scalar(
                select(ModelVersion).where(
                    ModelVersion.model_id == model.id, ModelVersion.version == number
                )
            )
            if row is None:
                raise ModelNotFound(ref)
            return _version(model.name, row, [a for a, v in aliases.items() if v == number])

    # Aliases

    def set_alias(self, tenant_id: int, name: str, alias: str, version: int) -> ModelInfo:
        """Point ``alias`` at ``version`` (promote, or roll back)."""
        check_alias(alias)
        with self.db.session() as s:
            model = self._model(s, tenant_id, name)
            exists = s.scalar(
                select(ModelVersion.id).where(
                    ModelVersion.model_id == model.id, ModelVersion.version == version
                )
            )
            if exists is None:
                raise ModelNotFound(f"{name}/{version}")
            row = s.get(ModelAlias, (model.id, alias))
            if row is None:
                s.add(ModelAlias(model_id=model.id, alias=alias, version=version))
            else:
                row.version, row.updated_at = version, utcnow()
            model.updated_at = utcnow()
            s.flush()
            return self._info(s, model, versions=False)

    def delete_alias(self, tenant_id: int, name: str, alias: str) -> None:
        with self.db.session() as s:
            model = self._model(s, tenant_id, name)
            row = s.get(ModelAlias, (model.id, alias))
            if row is None:
                raise ModelNotFound(f"{name}@{alias}")
            s.delete(row)

    # Helpers

    @staticmethod
    def _model(s: Session, tenant_id: int, name: str) -> Model:
        row = s.scalar(select(Model).where(Model.tenant_id == tenant_id, Model.name == name))
        if row is None:
            raise ModelNotFound(name)
        return row

    @staticmethod
    def _aliases(s: Session, model_id: str) -> dict[str, int]:
        rows = s.scalars(select(ModelAlias).where(ModelAlias.model_id == model_id))
        return {r.alias: r.version for r in sorted(rows, key=lambda r: r.alias)}

    def _info(self, s: Session, model: Model, versions: bool) -> ModelInfo:
        aliases = self._aliases(s, model.id)
        by_version: dict[int, builtins.list[str]] = {}
        for alias, number in aliases.items():
            by_version.setdefault(number, []).append(alias)
        rows = list(
            s.scalars(
                select(ModelVersion)
                .where(ModelVersion.model_id == model.id)
                .order_by(ModelVersion.version.desc())
                .limit(None if versions else 1)
            )
        )
        return ModelInfo(
            name=model.name,
            latest_version=rows[0].version if rows else 0,
            aliases=aliases,
            created_at=model.created_at,
            updated_at=model.updated_at,
            versions=[_version(model.name, r, by_version.get(r.version, [])) for r in rows]
            if versions
            else [],
        )


def _version(name: str, row: ModelVersion, aliases: list[str]) -> ModelVersionInfo:
    return ModelVersionInfo(
        name=name,
        version=row.version,
        flavor=row.flavor,
        sha256=row.sha256,
        size=row.size,
        metrics=json.loads(row.metrics),
        params=json.loads(row.params),
        lineage=json.loads(row.lineage),
        created_at=row.created_at,
        aliases=aliases,
    )
