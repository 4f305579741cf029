"""Request dependencies: the platform, and the principal a request acts as."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from suricate.auth import Principal
from suricate.errors import Unauthenticated
from suricate.platform import Platform

_bearer = HTTPBearer(auto_error=False, description="An API token from `suricate token create`.")


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def current_principal(
    platform: Annotated[Platform, Depends(get_platform)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_suricate_tenant: Annotated[
        str | None,
        Header(description="Tenant to act in; default: the user's first tenant."),
    ] = None,
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing credentials: send 'Authorization: Bearer <token>'")
    return platform.tokens.authenticate(credentials.credentials, x_suricate_tenant or None)


PlatformDep = Annotated[Platform, Depends(get_platform)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
