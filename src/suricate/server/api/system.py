"""Health and identity routes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from suricate import __version__
from suricate.domain.summary import tenant_summary
from suricate.server.api.deps import PlatformDep, PrincipalDep
from suricate.server.api.schemas import ErrorOut, HealthOut, MeOut, TenantOut

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    """Tell that the server is up (no authentication)."""
    return HealthOut(status="ok", version=__version__)


class ReadyOut(BaseModel):
    status: str = Field(description="ready or not_ready")
    checks: dict[str, str] = Field(description='Each dependency: "ok" or what failed.')


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def ready(platform: PlatformDep) -> JSONResponse:
    """Tell whether the server can serve: database, broker and object store reachable (no
    authentication; for readiness probes). 503 names what failed."""
    checks = await platform.readiness()
    ok = all(v == "ok" for v in checks.values())
    body = ReadyOut(status="ready" if ok else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    """Show who the token belongs to and the tenant the request acts in."""
    return MeOut(
        user=principal.user_name,
        tenant=principal.tenant_name,
        role=principal.role.value,
        tenants=[TenantOut(name=t.name, role=t.role.value) for t in principal.tenants],
    )


class ActivityOut(BaseModel):
    kind: str = Field(description="upload, run, processor or action")
    text: str
    at: datetime
    status: str | None = None
    ref: str | None = Field(default=None, description="Object name, run id or processor id.")


class SummaryOut(BaseModel):
    data: dict[str, Any] = Field(description="objects, bytes (all versions), streams")
    analytics: dict[str, Any] = Field(
        description="notebooks, processing_notebooks, sessions (open kernels)"
    )
    processing: dict[str, Any] = Field(
        description="running, failed, processors, processed, actions_last_hour, dead_letters"
    )
    runs: dict[str, Any] = Field(description="active, last_day (count per status), schedules")
    recent: list[ActivityOut] = Field(description="What happened lately, newest first.")


@router.get("/summary", response_model=SummaryOut)
def summary(principal: PrincipalDep, platform: PlatformDep) -> SummaryOut:
    """Count what the tenant has and list its recent activity (the UI's overview)."""
    found = tenant_summary(platform.db, principal.tenant_id)
    compute = platform.compute
    found.analytics["sessions"] = len(compute.sessions.list(principal)) if compute else 0
    return SummaryOut.model_validate(asdict(found))


class NoticeOut(BaseModel):
    id: str
    text: str = Field(description="What is going on, in a line.")
    done: int | None = Field(default=None, description="How far along, when it is progress.")
    total: int | None = None


class NoticesOut(BaseModel):
    items: list[NoticeOut]


@router.get("/notices", response_model=NoticesOut, responses={401: {"model": ErrorOut}})
def notices(principal: PrincipalDep, platform: PlatformDep) -> NoticesOut:
    """Server-wide notices for every signed-in user (the demo's set-up progress, say)."""
    del principal  # signed in is all it takes
    return NoticesOut(items=[NoticeOut.model_validate(asdict(n)) for n in platform.notices.items()])
