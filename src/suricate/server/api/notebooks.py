"""Routes for notebooks: thin handlers over ``NotebookService``."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from suricate.domain.notebooks import Kind, read_notebook, to_ipynb
from suricate.errors import InvalidInput, UploadTooLarge
from suricate.server.api.deps import PlatformDep, PrincipalDep, attachment
from suricate.server.api.schemas import (
    MAX_DB_INT,
    ErrorOut,
    NotebookCreate,
    NotebookDetailOut,
    NotebookImportOut,
    NotebookOut,
    NotebookPage,
    NotebookSave,
    RevisionOut,
    RevisionPage,
)

router = APIRouter(tags=["notebooks"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 409, 422)
}
Limit = Annotated[int | None, Query(ge=1, le=1000, description="Page size (default 50).")]
Cursor = Annotated[str | None, Query(description="The `next` of the previous page.")]


@router.post("/notebooks", status_code=201, response_model=NotebookDetailOut, responses=_ERRORS)
def create_notebook(
    body: NotebookCreate, platform: PlatformDep, principal: PrincipalDep
) -> NotebookDetailOut:
    """Create a notebook (empty unless `notebook` is given)."""
    info = platform.notebooks.create(
        principal.tenant_id, body.name, body.kind, body.notebook, principal.user_id
    )
    return NotebookDetailOut.model_validate(info)


@router.post(
    "/notebooks/import",
    status_code=201,
    response_model=NotebookImportOut,
    responses={**_ERRORS, 413: {"model": ErrorOut}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "An .ipynb file: the raw JSON as the body, or a multipart form with "
            "a `file` field.",
            "content": {
                "application/x-ipynb+json": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def import_notebook(
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    name: Annotated[
        str | None, Query(description="Default: the uploaded file's name without .ipynb.")
    ] = None,
    kind: Annotated[
        Kind | None, Query(description="Default: the kind in the file's metadata, or analytics.")
    ] = None,
) -> NotebookImportOut:
    """Import an .ipynb, repairing what Jupyter would (listed in `repairs`); a file that cannot
    be read as a notebook gets 422 `malformed_data` naming the problem."""
    limit = platform.settings.max_notebook_bytes
    filename = None
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_part_size=limit) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise InvalidInput("the form has no 'file' field with the .ipynb")
            filename = upload.filename
            data = await upload.read(limit + 1)
    else:
        buffer = bytearray()
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) > limit:
                break
        data = bytes(buffer)
    if len(data) > limit:
        raise UploadTooLarge(limit)
    if name is None:
        name = (filename or "Untitled.ipynb").rsplit("/", 1)[-1].removesuffix(".ipynb")
    content, repairs = await asyncio.to_thread(read_notebook, data, filename or name)
    meta_kind = content.get("metadata", {}).get("suricate", {}).get("kind")
    chosen = kind or (Kind(meta_kind) if meta_kind in Kind.__members__.values() else Kind.ANALYTICS)
    content.get("metadata", {}).pop("suricate", None)
    info = await asyncio.to_thread(
        platform.notebooks.create, principal.tenant_id, name, chosen, content, principal.user_id
    )
    return NotebookImportOut.model_validate(dataclasses.asdict(info) | {"repairs": repairs})


@router.get("/notebooks", response_model=NotebookPage, responses=_ERRORS)
def list_notebooks(
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Limit = None,
    cursor: Cursor = None,
    kind: Annotated[Kind | None, Query(description="Only notebooks of this kind.")] = None,
) -> NotebookPage:
    """List notebooks by name (without their content)."""
    page = platform.notebooks.list(principal.tenant_id, limit=limit, cursor=cursor, kind=kind)
    return NotebookPage(items=[NotebookOut.model_validate(n) for n in page.items], next=page.next)


@router.get("/notebooks/{notebook_id}", response_model=NotebookDetailOut, responses=_ERRORS)
def get_notebook(
    notebook_id: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    revision: Annotated[
        int | None, Query(ge=1, le=MAX_DB_INT, description="Default: the latest.")
    ] = None,
) -> NotebookDetailOut:
    """Show a notebook with its nbformat content (any revision)."""
    info = platform.notebooks.get(principal.tenant_id, notebook_id, revision)
    return NotebookDetailOut.model_validate(info)


@router.put("/notebooks/{notebook_id}", response_model=NotebookDetailOut, responses=_ERRORS)
def save_notebook(
    notebook_id: str, body: NotebookSave, platform: PlatformDep, principal: PrincipalDep
) -> NotebookDetailOut:
    """Save a notebook: new content becomes the next revision; a name renames it."""
    info = platform.notebooks.save(
        principal.tenant_id,
        notebook_id,
        content=body.notebook,
        name=body.name,
        base_revision=body.revision,
        user_id=principal.user_id,
    )
    return NotebookDetailOut.model_validate(info)


@router.delete("/notebooks/{notebook_id}", status_code=204, responses=_ERRORS)
def delete_notebook(notebook_id: str, platform: PlatformDep, principal: PrincipalDep) -> Response:
    """Delete a notebook and all its revisions."""
    platform.notebooks.delete(principal.tenant_id, notebook_id)
    return Response(status_code=204)


@router.get(
    "/notebooks/{notebook_id}/ipynb",
    response_class=Response,
    responses={200: {"content": {"application/x-ipynb+json": {}}}, **_ERRORS},
)
def export_notebook(
    notebook_id: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    revision: Annotated[
        int | None, Query(ge=1, le=MAX_DB_INT, description="Default: the latest.")
    ] = None,
) -> Response:
    """Download a notebook as an .ipynb file, outputs included."""
    info = platform.notebooks.get(principal.tenant_id, notebook_id, revision)
    return Response(
        to_ipynb(info),
        media_type="application/x-ipynb+json",
        headers={"Content-Disposition": attachment(f"{info.name}.ipynb")},
    )


@router.get("/notebooks/{notebook_id}/revisions", response_model=RevisionPage, responses=_ERRORS)
def list_revisions(
    notebook_id: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Limit = None,
    cursor: Cursor = None,
) -> RevisionPage:
    """List a notebook's saved revisions, newest first."""
    page = platform.notebooks.revisions(
        principal.tenant_id, notebook_id, limit=limit, cursor=cursor
    )
    return RevisionPage(
        items=[RevisionOut(revision=r.revision, created_at=r.created_at) for r in page.items],
        next=page.next,
    )
