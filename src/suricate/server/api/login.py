"""Web UI sessions: log in with a user name and password, get a cookie; log out.

A login issues an ordinary API token named ``web``, expiring after ``SURICATE_SESSION_HOURS``,
and hands it to the browser as an HttpOnly, SameSite=Lax cookie, never to scripts. Scripts get
the session's CSRF token instead (in the body and a readable cookie), which calls that change
anything must echo in ``X-CSRF-Token``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from suricate.domain.auth import principal_for
from suricate.errors import Unauthenticated
from suricate.server.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    TENANT_COOKIE,
    PlatformDep,
    PrincipalDep,
    csrf_token,
)
from suricate.server.api.schemas import ErrorOut, TenantOut

router = APIRouter(tags=["system"])
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 403)}


class LoginIn(BaseModel):
    user: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class LoginOut(BaseModel):
    user: str
    tenant: str = Field(description="The tenant the session acts in by default.")
    tenants: list[TenantOut]
    csrf_token: str = Field(description="Send it back in X-CSRF-Token on calls that change data.")


@router.post(
    "/auth/login",
    response_model=LoginOut,
    responses={
        **_ERRORS,
        429: {
            "model": ErrorOut,
            "description": "Too many failed logins: wait the seconds in Retry-After.",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
async def login(
    body: LoginIn, request: Request, response: Response, platform: PlatformDep
) -> LoginOut:
    """Check a user's password and open a web session (cookies ``suricate_session`` and
    ``suricate_csrf``). Failed logins are throttled per user name and per client address:
    429 with ``Retry-After`` while one must wait."""
    address = request.client.host if request.client else "unknown"
    throttle = platform.login_throttle  # its memory may be the database (frontend replicas)
    await anyio.to_thread.run_sync(throttle.check, body.user, address)
    user = await anyio.to_thread.run_sync(platform.tenants.authenticate, body.user, body.password)
    if user is None:
        await anyio.to_thread.run_sync(throttle.failed, body.user, address)
        raise Unauthenticated("wrong user name or password")
    await anyio.to_thread.run_sync(throttle.succeeded, body.user, address)
    principal = principal_for(user, None)
    hours = platform.settings.session_hours
    token, _ = await anyio.to_thread.run_sync(
        lambda: platform.tokens.create(user.name, name="web", expires_in=timedelta(hours=hours))
    )
    csrf = csrf_token(token)
    secure = request.url.scheme == "https"
    max_age = int(hours * 3600)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, samesite="strict", secure=secure)
    return LoginOut(
        user=user.name,
        tenant=principal.tenant_name,
        tenants=[TenantOut(name=t.name, role=t.role.value) for t in user.tenants],
        csrf_token=csrf,
    )


@router.post("/auth/logout", status_code=204, responses=_ERRORS)
async def logout(request: Request, principal: PrincipalDep, platform: PlatformDep) -> Response:
    """End the web session: its token is revoked and the cookies cleared."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await anyio.to_thread.run_sync(platform.tokens.revoke, token)
    response = Response(status_code=204)
    for name in (SESSION_COOKIE, CSRF_COOKIE, TENANT_COOKIE):
        response.delete_cookie(name)
    return response
