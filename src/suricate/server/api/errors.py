"""The one place errors become HTTP responses: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suricate import errors

log = logging.getLogger("suricate.server.api")

STATUS: dict[type[errors.SuricateError], int] = {
    errors.NotFound: 404,
    errors.InvalidInput: 422,
    errors.BadRequest: 400,
    errors.Conflict: 409,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.TooLarge: 413,
    errors.TooManyAttempts: 429,
    errors.StoreLocked: 503,
    errors.ObjectStoreUnavailable: 503,
    errors.ExecutionNodeError: 503,
    errors.QuotaExceeded: 429,
    errors.SandboxUnavailable: 503,
    errors.MalformedMessage: 503,
    errors.NodeError: 503,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "upload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_attempts",
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """Return the JSON body of every error response."""
    return {"error": {"code": code, "message": message}}


def status_of(exc: errors.SuricateError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(exc: errors.SuricateError) -> JSONResponse:
    """Return the response for one of our errors: its status, code and message."""
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, errors.TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(error_body(exc.code, exc.message), status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""

    async def suricate_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.SuricateError)
        return error_response(exc)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such route: {request.method} {request.url.path}"
        return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse(error_body("invalid_input", "; ".join(problems)), 422)

    app.add_exception_handler(errors.SuricateError, suricate_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(CatchAll)
    _document_errors(app)


_DESCRIPTIONS = {
    400: "The request is malformed (a body that is not JSON, say).",
    401: "No, or bad, credentials.",
    403: "Not allowed: a cookie session without its CSRF token, a kernel's token off its routes.",
    404: "Not found in this tenant (or the tenant named in X-Suricate-Tenant).",
    413: "The request body is past its limit.",
    422: "A parameter or the body is not acceptable.",
}


def _document_errors(app: FastAPI) -> None:
    """Make the OpenAPI document list every error status each operation can answer, from what
    it takes: credentials (401, 403, 404), parameters (422), a body (400, 413, 422)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI builds it once and keeps it; the additions are idempotent
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                statuses: set[int] = set()
                if operation.get("security"):  # the bearer token (or the session cookie)
                    statuses |= {401, 403, 404}
                if operation.get("parameters"):
                    statuses.add(422)
                if "requestBody" in operation:
                    statuses |= {400, 413, 422}
                responses = operation.setdefault("responses", {})
                for status in sorted(statuses):
                    responses.setdefault(
                        str(status),
                        {
                            "description": _DESCRIPTIONS[status],
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorOut"}
                                }
                            },
                        },
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class CatchAll:
    """Answer an unexpected error with a 500 in the error shape, logged once with an incident id.

    Never a traceback in the body: it could show one tenant another's data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            incident = uuid.uuid4().hex[:12]
            log.exception(
                "unhandled error (incident %s) on %s %s", incident, scope["method"], scope["path"]
            )
            if started:
                raise
            response = JSONResponse(
                error_body("internal", f"internal error; the server log has incident {incident}"),
                500,
            )
            await response(scope, receive, send)
