"""Request body limits, enforced before a handler sees the body (pure ASGI); and NUL
characters, which no name or id holds, refused in paths and queries.

Every request body has a limit: uploads ``SURICATE_MAX_UPLOAD_BYTES`` (objects: checked by the
object service while it streams them to storage; models' artifacts: here), notebooks
``SURICATE_MAX_NOTEBOOK_BYTES``, everything else ``SURICATE_MAX_JSON_BYTES``. A
``Content-Length`` past the limit is refused at once; a body that grows past it while it is
read (chunked) is cut there. Either way the answer is a 413 in the error shape, and at most the
limit is ever held in memory.
"""

from __future__ import annotations

import re

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suricate.errors import BodyTooLarge
from suricate.server.api.errors import error_body
from suricate.settings import Settings

# A multipart form wraps the .ipynb in a little more than its bytes.
_FORM_OVERHEAD = 64 * 1024


class BodyLimit:
    """Answer 413 for a request body past its route's limit, without buffering it."""

    def __init__(self, app: ASGIApp, settings: Settings, api_prefix: str) -> None:
        self.app = app
        self.json_limit = settings.max_json_bytes
        self.notebook_limit = settings.max_notebook_bytes
        prefix = re.escape(api_prefix)
        self.upload_limit = settings.max_upload_bytes
        self._upload = re.compile(rf"{prefix}/objects/[^/]+")
        self._model_version = re.compile(rf"{prefix}/models/[^/]+/versions")
        self._notebook = re.compile(rf"{prefix}/notebooks(/import|/[^/]+)?")

    def limit_of(self, method: str, path: str) -> tuple[int, str] | None:
        """The limit on the body of a request, and the setting that sets it (None: uploads)."""
        if method == "PUT" and self._upload.fullmatch(path):
            return None  # streamed to storage; the object service enforces its own limit
        if method == "POST" and self._model_version.fullmatch(path):
            # A model's artifact is an upload (a multipart form, spooled to disk).
            return self.upload_limit, "SURICATE_MAX_UPLOAD_BYTES"
        match = self._notebook.fullmatch(path)
        if match:
            tail = match.group(1)
            creates = method == "POST" and tail in (None, "/import")
            saves = method == "PUT" and tail not in (None, "/import")
            if creates or saves:
                extra = _FORM_OVERHEAD if tail == "/import" else 0
                return self.notebook_limit + extra, "SURICATE_MAX_NOTEBOOK_BYTES"
        return self.json_limit, "SURICATE_MAX_JSON_BYTES"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = _nul_refusal(scope)
        if refused is not None:
            await refused(scope, receive, send)
            return
        found = self.limit_of(scope["method"], scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        limit, setting = found
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _too_large(limit, setting)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit, setting)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # Whatever the handler made of a cut body, the answer is the 413.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _too_large(limit, setting)(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
            if not started:
                await _too_large(limit, setting)(scope, receive, send)


def _too_large(limit: int, setting: str) -> JSONResponse:
    exc = BodyTooLarge(limit, setting)
    return JSONResponse(error_body(exc.code, exc.message), 413, headers={"Connection": "close"})


# The routes that make what their path names (an object, its rows, a model's version or alias).
_NAMES_MADE = re.compile(r"/api/v1/(objects/[^/]+(/rows)?|models/[^/]+/(versions|aliases/[^/]+))")


def _nul_refusal(scope: Scope) -> JSONResponse | None:
    """A NUL is in no name or id (PostgreSQL refuses it in text): a path with one names nothing
    to read or delete (404) and is an invalid name to write (422); a query with one is invalid
    (422); answered before any database sees it."""
    if "\x00" in scope["path"]:
        if scope["method"] in ("PUT", "POST") and _NAMES_MADE.fullmatch(scope["path"]):
            message = "a name may not hold a NUL character"
            return JSONResponse(error_body("invalid_name", message), 422)
        message = "no name or id holds a NUL character"
        return JSONResponse(error_body("not_found", message), 404)
    if b"%00" in scope.get("query_string", b"").lower():
        message = "a query parameter holds a NUL character"
        return JSONResponse(error_body("invalid_input", message), 422)
    return None
