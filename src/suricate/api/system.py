"""Health and identity routes."""

from __future__ import annotations

from fastapi import APIRouter

from suricate import __version__
from suricate.api.deps import PrincipalDep
from suricate.api.schemas import HealthOut, MeOut, TenantOut

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    """Tell that the server is up (no authentication)."""
    return HealthOut(status="ok", version=__version__)


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    """Show who the token belongs to and the tenant the request acts in."""
    return MeOut(
        user=principal.user_name,
        tenant=principal.tenant_name,
        role=principal.role.value,
        tenants=[TenantOut(name=t.name, role=t.role.value) for t in principal.tenants],
    )
