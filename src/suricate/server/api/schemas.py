"""The JSON shapes of the REST API (request bodies and responses), as pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from suricate.domain.notebooks import Kind
from suricate.domain.objects import VersionInfo
from suricate.domain.previews import Preview
from suricate.domain.processors.shadows import PromotionPolicy, ShadowConfig

# The largest integer a database column holds (SQLite and PostgreSQL BIGINT): ids, versions and
# revisions past it are a 422, never an OverflowError deep in a driver.
MAX_DB_INT = 2**63 - 1
# The longest time limit a request may ask for, in seconds (a year); past it timers overflow.
MAX_SECONDS = 365 * 24 * 3600.0


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. object_not_found.")
    message: str = Field(description="What went wrong, for a person.")


class ErrorOut(BaseModel):
    error: ErrorDetail


class HealthOut(BaseModel):
    status: str
    version: str


class TenantOut(BaseModel):
    name: str
    role: str


class MeOut(BaseModel):
    user: str
    tenant: str
    role: str
    tenants: list[TenantOut]


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    version: int
    size: int
    sha256: str
    content_type: str
    created_at: datetime


class ObjectOut(VersionOut):
    """An object as listed: its latest version, tags and description."""

    updated_at: datetime
    description: str
    tags: list[str]


class ObjectDetailOut(ObjectOut):
    """An object with every version, oldest first."""

    versions: list[VersionOut]


class ObjectPage(BaseModel):
    items: list[ObjectOut]
    next: str | None = Field(description="Cursor of the next page, or null on the last page.")


class ObjectPatch(BaseModel):
    tags: list[str] | None = Field(default=None, description="Replaces all tags when given.")
    description: str | None = Field(default=None, max_length=10_000)


class PreviewOut(BaseModel):
    name: str
    version: int
    format: str = Field(description="csv, tsv, json, jsonl or parquet, prefixed gzip+ when gzip'd.")
    columns: list[str]
    rows: list[list[Any]]
    dtypes: dict[str, str]
    partial: str | None = Field(
        default=None,
        description="Set when a bound (bytes read, JSON parsed) cut the preview short: why.",
    )

    @classmethod
    def of(cls, info: VersionInfo, p: Preview) -> PreviewOut:
        return cls(
            name=info.name,
            version=info.version,
            format=p.format,
            columns=p.columns,
            rows=p.rows,
            dtypes=p.dtypes,
            partial=p.partial,
        )


class NotebookCreate(BaseModel):
    name: str = Field(description="Unique in the tenant; letters, digits, '.', '_', '-'.")
    kind: Kind = Field(default=Kind.ANALYTICS, description="analytics or processing.")
    notebook: dict[str, Any] | None = Field(
        default=None, description="nbformat v4 JSON; default: an empty Python 3 notebook."
    )


class NotebookSave(BaseModel):
    name: str | None = Field(default=None, description="A new name.")
    notebook: dict[str, Any] | None = Field(
        default=None, description="nbformat v4 JSON, saved as the next revision."
    )
    revision: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DB_INT,
        description="The revision this save is based on; 409 if the notebook has moved on.",
    )


class NotebookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: Kind
    revision: int
    created_at: datetime
    updated_at: datetime


class NotebookDetailOut(NotebookOut):
    notebook: dict[str, Any] = Field(validation_alias="content")


class NotebookImportOut(NotebookDetailOut):
    repairs: list[str] = Field(
        description="What was repaired in the file, one sentence each (empty: nothing was): "
        "missing cell ids added, kernelspec fields filled in, an old nbformat upgraded, "
        "invalid metadata removed."
    )


class NotebookPage(BaseModel):
    items: list[NotebookOut]
    next: str | None


class RevisionOut(BaseModel):
    revision: int
    created_at: datetime


class RevisionPage(BaseModel):
    items: list[RevisionOut]
    next: str | None


class PolicyIn(BaseModel):
    """When to move the champion alias to the challenger: on a metric, or a gate's verdict."""

    window: int = Field(
        default=500, ge=1, le=10_000_000, description="Messages compared before deciding."
    )
    metric: str | None = Field(
        default=None,
        max_length=255,
        description="A metric the handler measures with sdk.metric: the challenger's mean "
        "must beat the champion's over the window.",
    )
    goal: Literal["min", "max"] = Field(default="min", description="min: lower is better.")
    min_improvement: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="By more than this much."
    )
    gate: str | None = Field(
        default=None,
        max_length=255,
        description="A notebook (id or name) run with the figures as parameters; it decides "
        "with sdk.verdict(promote, reason).",
    )


class ShadowIn(BaseModel):
    model: str = Field(min_length=1, max_length=255, description="The model the notebook uses.")
    alias: str = Field(default="challenger", description="The challenger's alias.")
    champion: str = Field(default="champion", description="The alias a promotion moves.")
    policy: PolicyIn | None = Field(default=None, description="None: promotion by hand.")

    def config(self) -> ShadowConfig:
        policy = PromotionPolicy(**self.policy.model_dump()) if self.policy else None
        return ShadowConfig(self.model, self.alias, self.champion, policy)
