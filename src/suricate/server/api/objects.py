"""Routes for versioned data objects: thin handlers over ``ObjectService``."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Annotated, Any, BinaryIO

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.requests import ClientDisconnect

from suricate.domain.objects import blob_key
from suricate.domain.previews import DEFAULT_ROWS, MAX_ROWS, Preview, preview
from suricate.errors import BadRequest, MalformedData, UploadIncomplete
from suricate.server.api.deps import PlatformDep, PrincipalDep, attachment
from suricate.server.api.schemas import (
    MAX_DB_INT,
    ErrorOut,
    ObjectDetailOut,
    ObjectOut,
    ObjectPage,
    ObjectPatch,
    PreviewOut,
    VersionOut,
)
from suricate.server.http import BODY_BUFFERS
from suricate.store.blobs import Buffer

router = APIRouter(tags=["objects"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 422)
}
_DOWNLOAD_CHUNK = 1024 * 1024
# Previews parsed at once per process: each may hold up to SURICATE_PREVIEW_MAX_BYTES.
_PREVIEWS = threading.BoundedSemaphore(2)
_TOO_LONG = "the preview took longer than {} s; download the file instead"

VersionQuery = Annotated[
    int | None, Query(ge=1, le=MAX_DB_INT, description="Version number; default: the latest.")
]


@router.put(
    "/objects/{name}",
    status_code=201,
    response_model=VersionOut,
    responses={**_ERRORS, 413: {"model": ErrorOut}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The raw bytes of the object; its Content-Type is kept.",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def put_object(
    name: str,
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    content_type: Annotated[str | None, Header(include_in_schema=False)] = None,
    content_length: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_content_sha256: Annotated[
        str | None,
        Header(description="Optional sha256 (hex) of the body; a mismatch stores nothing (422)."),
    ] = None,
    x_suricate_trailer: Annotated[
        str | None,
        Header(
            description="`X-Content-SHA256`: the body ends with the 64 hex digits of the sha256 "
            "of the bytes before them (for a client that hashes while it sends), checked like "
            "the header; they are not stored."
        ),
    ] = None,
) -> VersionOut:
    """Upload a new version of an object, streaming the body to storage."""
    expected_size = _content_length(content_length)
    trailer = _trailer(x_suricate_trailer)
    if trailer and x_content_sha256 is not None:
        raise BadRequest("send X-Content-SHA256 as a header or after the body, not both")
    info = await platform.objects.upload(
        principal.tenant_id,
        name,
        _body(request, expected_size),
        content_type=content_type,
        expected_size=expected_size,
        expected_sha256=x_content_sha256,
        sha256_trailer=trailer,
        user_id=principal.user_id,
    )
    return VersionOut.model_validate(info)


async def _body(request: Request, expected_size: int | None) -> AsyncIterator[Buffer]:
    """The body as it comes; read by the socket straight into buffers where the server can
    (server/http.py), so the bytes of a large upload are never copied on the way."""
    direct = request.scope.get("extensions", {}).get(BODY_BUFFERS)
    chunks: AsyncGenerator[Buffer, None] = direct["read"]() if direct else request.stream()
    received = 0
    try:
        async with contextlib.aclosing(chunks):  # closed with this one: the rest is dropped
            async for chunk in chunks:
                received += len(chunk)
                yield chunk
    except ClientDisconnect as exc:
        raise UploadIncomplete(expected_size, received) from exc


def _trailer(value: str | None) -> bool:
    if value is None:
        return False
    if value.strip().lower() != "x-content-sha256":
        raise BadRequest(f"unsupported X-Suricate-Trailer {value!r}: only X-Content-SHA256")
    return True


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise BadRequest(f"invalid Content-Length {value!r}")
    return int(value)


@router.get("/objects", response_model=ObjectPage, responses=_ERRORS)
def list_objects(
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Annotated[
        int | None, Query(ge=1, le=1000, description="Page size (default 50).")
    ] = None,
    cursor: Annotated[str | None, Query(description="The `next` of the previous page.")] = None,
    tag: Annotated[str | None, Query(description="Only objects with this tag.")] = None,
) -> ObjectPage:
    """List the latest version of each object, by name, a page at a time."""
    page = platform.objects.list_latest(principal.tenant_id, limit=limit, cursor=cursor, tag=tag)
    return ObjectPage(items=[ObjectOut.model_validate(o) for o in page.items], next=page.next)


@router.get("/objects/{name}", response_model=ObjectDetailOut, responses=_ERRORS)
def get_object(name: str, platform: PlatformDep, principal: PrincipalDep) -> ObjectDetailOut:
    """Show an object's metadata, tags and every version."""
    return ObjectDetailOut.model_validate(platform.objects.get(principal.tenant_id, name))


@router.get(
    "/objects/{name}/content",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
        **_ERRORS,
    },
)
def get_content(
    name: str, platform: PlatformDep, principal: PrincipalDep, version: VersionQuery = None
) -> Response:
    """Download the exact bytes of a version (the latest by default); supports Range."""
    info = platform.objects.version(principal.tenant_id, name, version)
    headers = {
        "ETag": f'"{info.sha256}"',
        "X-Content-SHA256": info.sha256,
        "X-Suricate-Version": str(info.version),
        "Cache-Control": "private, max-age=0",
    }
    path = platform.store.local_path(blob_key(principal.tenant_id, info.sha256))
    if path is not None and path.is_file():
        response = _BlobResponse(
            path,
            media_type=info.content_type,
            filename=info.name,
            headers=headers,
            content_disposition_type="attachment",
        )
        # Starlette adds a charset to text/*; the stored Content-Type is returned as it was given.
        response.headers["content-type"] = info.content_type
        return response
    handle = platform.objects.open(principal.tenant_id, info)
    headers["Content-Length"] = str(info.size)
    headers["Content-Disposition"] = attachment(info.name)
    return StreamingResponse(_chunks(handle), media_type=info.content_type, headers=headers)


class _BlobResponse(FileResponse):
    """A file response read in larger chunks: each of Starlette's 64 KiB costs a thread hop."""

    chunk_size = _DOWNLOAD_CHUNK


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(_DOWNLOAD_CHUNK):
            yield chunk


@router.get("/objects/{name}/preview", response_model=PreviewOut, responses=_ERRORS)
async def get_preview(
    name: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    rows: Annotated[int, Query(ge=1, le=MAX_ROWS, description="Rows to show.")] = DEFAULT_ROWS,
    version: VersionQuery = None,
) -> PreviewOut:
    """Show the first rows of a CSV, JSON, JSON-lines or Parquet object (gzip'd or not); a
    file past the preview's bounds gets 422 naming the limit, or a `partial` preview."""
    settings = platform.settings
    info = await anyio.to_thread.run_sync(
        platform.objects.version, principal.tenant_id, name, version
    )

    deadline = time.monotonic() + settings.preview_timeout

    def run() -> Preview:
        if not _PREVIEWS.acquire(timeout=settings.preview_timeout):
            raise MalformedData(info.name, _TOO_LONG.format(settings.preview_timeout))
        try:
            with platform.objects.open(principal.tenant_id, info) as handle:
                return preview(
                    handle,
                    info.name,
                    info.content_type,
                    rows,
                    settings.preview_max_bytes,
                    max(0.0, deadline - time.monotonic()),
                )
        finally:
            _PREVIEWS.release()

    # Off the event loop, a few at a time (each holds up to its byte bound), and never long:
    # the reader stops itself at the deadline; the grace covers a parse already under way.
    try:
        with anyio.fail_after(settings.preview_timeout + 5):
            result = await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
    except TimeoutError:
        raise MalformedData(info.name, _TOO_LONG.format(settings.preview_timeout)) from None
    return PreviewOut.of(info, result)


@router.patch("/objects/{name}", response_model=ObjectDetailOut, responses=_ERRORS)
def patch_object(
    name: str, body: ObjectPatch, platform: PlatformDep, principal: PrincipalDep
) -> ObjectDetailOut:
    """Set an object's tags and/or description."""
    info = platform.objects.update(
        principal.tenant_id, name, tags=body.tags, description=body.description
    )
    return ObjectDetailOut.model_validate(info)


@router.delete("/objects/{name}", status_code=204, responses=_ERRORS)
def delete_object(name: str, platform: PlatformDep, principal: PrincipalDep) -> Response:
    """Delete an object and all its versions."""
    platform.objects.delete(principal.tenant_id, name)
    return Response(status_code=204)
