"""Routes for datasets that grow: append rows to a JSON-lines object, write them out now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from suricate.server.api.deps import PlatformDep, PrincipalDep
from suricate.server.api.schemas import ErrorOut, VersionOut

router = APIRouter(tags=["objects"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 413, 422, 503)
}


class RowsIn(BaseModel):
    records: list[Any] = Field(description="The rows: JSON values, usually objects.")
    key: str | None = Field(
        default=None,
        description="A field of every record: a row whose key was appended before is left out.",
    )


class RowsOut(BaseModel):
    name: str
    accepted: int = Field(description="Rows added (those with a key seen before are not).")
    pending: int = Field(description="Rows waiting for the object's next version.")


@router.post("/objects/{name}/rows", status_code=202, response_model=RowsOut, responses=_ERRORS)
def append_rows(name: str, body: RowsIn, platform: PlatformDep, principal: PrincipalDep) -> RowsOut:
    """Append rows to a JSON-lines object (made on first append); they become its next version
    together with others, every SURICATE_APPEND_ROWS rows or SURICATE_APPEND_SECONDS seconds."""
    done = platform.datasets.append(principal.tenant_id, name, body.records, body.key)
    return RowsOut(name=done.name, accepted=done.accepted, pending=done.pending)


@router.post(
    "/objects/{name}/rows/flush",
    response_model=VersionOut,
    responses={204: {"description": "No row was waiting."}, **_ERRORS},
)
async def flush_rows(name: str, platform: PlatformDep, principal: PrincipalDep) -> Any:
    """Write the rows waiting for a dataset out as its next version now."""
    from suricate.domain.datasets import check_dataset

    name = check_dataset(name)
    version = await platform.datasets.flush(principal.tenant_id, name)
    if version is None:
        return Response(status_code=204)
    return VersionOut.model_validate(version)
