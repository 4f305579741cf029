"""Routes for models: versions with metrics, parameters and lineage; aliases that promote."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from suricate.domain.models import ModelInfo, ModelVersionInfo
from suricate.errors import InvalidInput
from suricate.server.api.deps import PlatformDep, PrincipalDep
from suricate.server.api.schemas import ErrorOut
from suricate.server.platform import Platform

router = APIRouter(tags=["models"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 413, 422, 503)
}
Version = Annotated[
    str,
    Field(description="A version number, `latest`, or an alias (`champion`) naming one."),
]


class ModelVersionOut(BaseModel):
    name: str
    version: int
    flavor: str = Field(description="skops, joblib or json: how the artifact is stored.")
    sha256: str
    size: int
    metrics: dict[str, Any]
    params: dict[str, Any]
    lineage: dict[str, Any] = Field(
        description="Where it came from: objects (name, version) read, notebook (id, "
        "revision), run, user, packages."
    )
    aliases: list[str] = Field(description="The aliases naming this version.")
    created_at: datetime


class ModelOut(BaseModel):
    name: str
    latest_version: int
    aliases: dict[str, int] = Field(description='Alias -> version, e.g. {"champion": 3}.')
    versions: list[ModelVersionOut] = Field(description="Newest first (empty in lists).")
    created_at: datetime
    updated_at: datetime


class ModelPage(BaseModel):
    items: list[ModelOut]
    next: str | None


class AliasIn(BaseModel):
    version: int = Field(ge=1, le=2**31 - 1)


def _model(info: ModelInfo) -> ModelOut:
    return ModelOut.model_validate(asdict(info))


def _version(info: ModelVersionInfo) -> ModelVersionOut:
    return ModelVersionOut.model_validate(asdict(info))


def _ref(name: str, version: str) -> str:
    if version == "latest":
        return name
    return f"{name}/{version}" if version.isdigit() else f"{name}@{version}"


@router.get("/models", response_model=ModelPage, responses=_ERRORS)
def list_models(
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> ModelPage:
    """The tenant's models by name, each with its latest version and aliases."""
    page = platform.models.list(principal.tenant_id, limit, cursor)
    return ModelPage(items=[_model(m) for m in page.items], next=page.next)


@router.get("/models/{name}", response_model=ModelOut, responses=_ERRORS)
def get_model(name: str, platform: PlatformDep, principal: PrincipalDep) -> ModelOut:
    """A model with every version (newest first), its metrics and lineage, and its aliases."""
    return _model(platform.models.get(principal.tenant_id, name))


@router.post(
    "/models/{name}/versions", status_code=201, response_model=ModelVersionOut, responses=_ERRORS
)
def log_version(
    name: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    artifact: Annotated[UploadFile, File(description="The serialized model.")],
    flavor: Annotated[str, Form(description="skops, joblib or json.")],
    meta: Annotated[
        str, Form(description='JSON: {"metrics": {}, "params": {}, "lineage": {}}.')
    ] = "{}",
) -> ModelVersionOut:
    """Store a new version of the model (``sdk.log_model`` in a kernel does this)."""
    try:
        fields = json.loads(meta)
    except ValueError as exc:
        raise InvalidInput(f"meta is not JSON: {exc}") from None
    if not isinstance(fields, dict):
        raise InvalidInput("meta must be a JSON object")
    lineage = dict(fields.get("lineage") or {})
    lineage.update(_provenance(platform, principal))
    info = platform.models.log(
        principal.tenant_id,
        principal.user_id,
        name,
        flavor,
        artifact.file,
        fields.get("metrics"),
        fields.get("params"),
        lineage,
    )
    return _version(info)


def _provenance(platform: Platform, principal: Any) -> dict[str, Any]:
    """What the server knows of where a version comes from: the user, and the notebook and run
    of the kernel whose token logged it."""
    found: dict[str, Any] = {"user": principal.user_name}
    compute = platform.compute
    session = compute.sessions.of_token(principal.token_id) if compute is not None else None
    if session is None or session.tenant_id != principal.tenant_id:
        return found
    if session.notebook_id is not None:
        revision = session.notebook_revision
        if revision is None:
            revision = platform.notebooks.find(principal.tenant_id, session.notebook_id).revision
        found["notebook"] = {"id": session.notebook_id, "revision": revision}
    if session.run_id is not None:
        found["run"] = session.run_id
    found["session"] = session.id
    return found


@router.get("/models/{name}/versions/{version}", response_model=ModelVersionOut, responses=_ERRORS)
def get_version(
    name: str, version: Version, platform: PlatformDep, principal: PrincipalDep
) -> ModelVersionOut:
    """One version: a number, `latest`, or the version an alias names."""
    return _version(platform.models.resolve(principal.tenant_id, _ref(name, version)))


@router.get(
    "/models/{name}/versions/{version}/artifact",
    responses={200: {"content": {"application/octet-stream": {}}}, **_ERRORS},
)
def get_artifact(
    name: str, version: Version, platform: PlatformDep, principal: PrincipalDep
) -> StreamingResponse:
    """The version's artifact, as logged; its number and flavor are in the headers."""
    info, stream = platform.models.open_artifact(principal.tenant_id, _ref(name, version))

    def chunks() -> Any:
        with stream:
            while chunk := stream.read(1024 * 1024):
                yield chunk

    headers = {
        "X-Suricate-Model-Version": str(info.version),
        "X-Suricate-Model-Flavor": info.flavor,
        "Content-Length": str(info.size),
    }
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)


@router.put("/models/{name}/aliases/{alias}", response_model=ModelOut, responses=_ERRORS)
def set_alias(
    name: str, alias: str, body: AliasIn, platform: PlatformDep, principal: PrincipalDep
) -> ModelOut:
    """Point the alias at a version: promote, or roll back by pointing it back."""
    return _model(platform.models.set_alias(principal.tenant_id, name, alias, body.version))


@router.delete("/models/{name}/aliases/{alias}", status_code=204, responses=_ERRORS)
def delete_alias(name: str, alias: str, platform: PlatformDep, principal: PrincipalDep) -> Response:
    """Remove an alias (its version stays)."""
    platform.models.delete_alias(principal.tenant_id, name, alias)
    return Response(status_code=204)
