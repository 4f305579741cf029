"""Request dependencies: the platform, and the principal a request acts as."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from suricate.auth import Principal
from suricate.errors import Unauthenticated
from suricate.platform import Platform

_bearer = HTTPBearer(auto_error=False, description="An API token from `suricate token create`.")


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def current_principal(
    platform: Annotated[Platform, Depends(get_platform)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_suricate_tenant: Annotated[
        str | None,
        Header(description="Tenant to act in; default: the user's first tenant."),
    ] = None,
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing credentials: send 'Authorization: Bearer <token>'")
    token, tenant = credentials.credentials, x_suricate_tenant or None
    # Most requests hit the cache: no thread, no database.
    principal = platform.tokens.cached(token, tenant)
    if principal is None:
        principal = await anyio.to_thread.run_sync(platform.tokens.authenticate, token, tenant)
    return principal


PlatformDep = Annotated[Platform, Depends(get_platform)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
