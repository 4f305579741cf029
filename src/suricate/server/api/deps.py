"""Request dependencies: the platform, and the principal a request acts as.

Two ways in: ``Authorization: Bearer <token>`` (the CLI, the SDK, scripts), or the web UI's
session cookie. A cookie-authenticated call that changes anything must also carry the session's
CSRF token in ``X-CSRF-Token``, which another site cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated
from urllib.parse import quote, urlsplit

import anyio
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from suricate.domain.auth import SDK_SCOPE, Principal
from suricate.errors import CsrfFailed, PermissionDenied, Unauthenticated
from suricate.node.gateway import sdk_allows
from suricate.server.platform import Platform

SESSION_COOKIE = "suricate_session"
CSRF_COOKIE = "suricate_csrf"
TENANT_COOKIE = "suricate_tenant"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="An API token from `suricate token create`.")


def csrf_token(session_token: str) -> str:
    """Return the CSRF token bound to a web session (derived from its secret cookie)."""
    return hashlib.sha256(b"suricate-csrf:" + session_token.encode()).hexdigest()


def same_origin(origin: str | None, host: str | None) -> bool:
    """Tell whether a browser's Origin header names the host it connected to."""
    if not origin or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def authenticate(
    platform: Platform, token: str, tenant: str | None, method: str, path: str
) -> Principal:
    """Resolve a token, from the cache when it was checked moments ago; a kernel's token
    (scope sdk) only for the SDK's data routes."""
    principal = platform.tokens.cached(token, tenant)
    if principal is None:
        principal = await anyio.to_thread.run_sync(platform.tokens.authenticate, token, tenant)
    if principal.scope == SDK_SCOPE and not sdk_allows(method, path):
        raise PermissionDenied("a kernel's token reaches only the SDK's data routes")
    return principal


async def current_principal(
    request: Request,
    platform: Annotated[Platform, Depends(get_platform)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_suricate_tenant: Annotated[
        str | None,
        Header(description="Tenant to act in; default: the user's first tenant."),
    ] = None,
) -> Principal:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return await authenticate(
            platform,
            credentials.credentials,
            x_suricate_tenant or None,
            request.method,
            request.url.path,
        )
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        raise Unauthenticated("missing credentials: send 'Authorization: Bearer <token>'")
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, csrf_token(session)):
            raise CsrfFailed(f"missing or wrong {CSRF_HEADER} header for a cookie session")
    tenant = x_suricate_tenant or request.cookies.get(TENANT_COOKIE) or None
    return await authenticate(platform, session, tenant, request.method, request.url.path)


PlatformDep = Annotated[Platform, Depends(get_platform)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]


def attachment(filename: str) -> str:
    """Return a Content-Disposition for a download named ``filename`` (any Unicode, RFC 6266)."""
    ascii_name = "".join(
        c if c.isascii() and (c.isalnum() or c in " ._-") else "_" for c in filename
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
