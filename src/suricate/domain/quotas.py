"""Quotas: how much one user or tenant may run at once, and how big its kernels may be.

The defaults are settings (``SURICATE_QUOTA_*``, ``SURICATE_KERNEL_MEMORY_MB``,
``SURICATE_KERNEL_CPUS``); an administrator overrides them per tenant (``suricate tenant quota``),
in the ``tenant_quotas`` table. Past a quota, ``QuotaExceeded`` names it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from suricate.errors import InvalidInput, QuotaExceeded, TenantNotFound
from suricate.store.db import Database
from suricate.store.tables import Processor, Run, Tenant, TenantQuota, utcnow

# Processor states that hold kernels.
_DEPLOYED = ("starting", "running")


@dataclass(frozen=True)
class Quotas:
    """A tenant's quotas and kernel maxima."""

    sessions_per_user: int
    runs: int
    processors: int
    kernels: int
    kernel_memory_mb: int
    kernel_cpus: float


FIELDS = tuple(f.name for f in dataclasses.fields(Quotas))
HELP = {
    "sessions_per_user": "Open interactive sessions per user.",
    "runs": "Runs queued or running at once.",
    "processors": "Processors deployed at once.",
    "kernels": "Kernels at once: sessions, runs and processor instances.",
    "kernel_memory_mb": "Largest memory limit a run or processor may ask for, MiB.",
    "kernel_cpus": "Largest CPU limit a run or processor may ask for, cores.",
}


@dataclass(frozen=True)
class KernelAsk:
    """The limits a run or processor asks for its kernel (None: the node's defaults)."""

    memory_mb: int | None = None
    cpus: float | None = None


class QuotaService:
    """Check quotas before something starts; show use against them; keep the overrides."""

    def __init__(
        self,
        db: Database,
        defaults: Quotas,
        sessions_of: Callable[[str], list[Any]],
    ) -> None:
        self.db = db
        self.defaults = defaults
        # The open sessions of a tenant (by name): each has .user and .kind.
        self.sessions_of = sessions_of

    def of(self, tenant_id: int) -> Quotas:
        """Return the tenant's quotas: its overrides over the defaults."""
        with self.db.session() as s:
            row = s.get(TenantQuota, tenant_id)
            if row is None:
                return self.defaults
            overrides = {f: getattr(row, f) for f in FIELDS if getattr(row, f) is not None}
        return dataclasses.replace(self.defaults, **overrides)

    def of_name(self, tenant: str) -> Quotas:
        """Return the quotas of the tenant named ``tenant``."""
        with self.db.session() as s:
            tenant_id = s.scalar(select(Tenant.id).where(Tenant.name == tenant))
        if tenant_id is None:
            raise TenantNotFound(tenant)
        return self.of(tenant_id)

    def set(self, tenant: str, reset: bool = False, **values: Any) -> Quotas:
        """Override some of a tenant's quotas (None leaves one as it is; ``reset`` first
        drops every override)."""
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise InvalidInput(f"unknown quotas: {', '.join(sorted(unknown))}")
        for name, value in values.items():
            if value is not None and value < 0:
                raise InvalidInput(f"quota {name} must not be negative")
        with self.db.session() as s:
            tenant_id = s.scalar(select(Tenant.id).where(Tenant.name == tenant))
            if tenant_id is None:
                raise TenantNotFound(tenant)
            row = s.get(TenantQuota, tenant_id)
            if row is None:
                row = TenantQuota(tenant_id=tenant_id)
                s.add(row)
            for name in FIELDS:
                if reset:
                    setattr(row, name, None)
                if values.get(name) is not None:
                    setattr(row, name, values[name])
            row.updated_at = utcnow()
        return self.of(tenant_id)

    # Use

    def _kernels(self, s: Any, tenant_id: int, tenant: str) -> int:
        """Kernels of the tenant: open sessions (runs' included) and processor instances."""
        instances = s.scalar(
            select(func.coalesce(func.sum(Processor.replicas), 0)).where(
                Processor.tenant_id == tenant_id, Processor.status.in_(_DEPLOYED)
            )
        )
        return len(self.sessions_of(tenant)) + int(instances or 0)

    def usage(self, tenant_id: int, tenant: str, user: str) -> dict[str, dict[str, int]]:
        """Return each quota's use and limit: ``{"sessions": {"used", "limit"}, ...}``."""
        quotas = self.of(tenant_id)
        sessions = self.sessions_of(tenant)
        with self.db.session() as s:
            runs = s.scalar(
                select(func.count())
                .select_from(Run)
                .where(Run.tenant_id == tenant_id, Run.status.in_(("queued", "running")))
            )
            processors = s.scalar(
                select(func.count())
                .select_from(Processor)
                .where(Processor.tenant_id == tenant_id, Processor.status.in_(_DEPLOYED))
            )
            kernels = self._kernels(s, tenant_id, tenant)
        mine = sum(1 for x in sessions if x.user == user and x.kind == "interactive")
        return {
            "sessions": {"used": mine, "limit": quotas.sessions_per_user},
            "runs": {"used": int(runs or 0), "limit": quotas.runs},
            "processors": {"used": int(processors or 0), "limit": quotas.processors},
            "kernels": {"used": kernels, "limit": quotas.kernels},
        }

    # Checks, before something starts

    def check_session(self, tenant_id: int, tenant: str, user: str, kind: str) -> None:
        """Raise ``QuotaExceeded`` unless the user may open one more session of ``kind``
        ("interactive", or "run" for a run's kernel, which counts as a kernel only)."""
        quotas = self.of(tenant_id)
        if kind == "interactive":
            mine = sum(
                1 for x in self.sessions_of(tenant) if x.user == user and x.kind == "interactive"
            )
            if mine >= quotas.sessions_per_user:
                raise QuotaExceeded(
                    "sessions_per_user",
                    quotas.sessions_per_user,
                    f"{user} has {mine} sessions open in {tenant}",
                )
        with self.db.session() as s:
            kernels = self._kernels(s, tenant_id, tenant)
        if kernels >= quotas.kernels:
            raise QuotaExceeded("kernels", quotas.kernels, f"{tenant} has {kernels} kernels")

    def check_run(self, tenant_id: int, tenant: str) -> None:
        """Raise ``QuotaExceeded`` unless the tenant may queue one more run."""
        quotas = self.of(tenant_id)
        with self.db.session() as s:
            active = int(
                s.scalar(
                    select(func.count())
                    .select_from(Run)
                    .where(Run.tenant_id == tenant_id, Run.status.in_(("queued", "running")))
                )
                or 0
            )
        if active >= quotas.runs:
            raise QuotaExceeded(
                "runs", quotas.runs, f"{tenant} has {active} runs queued or running"
            )

    def check_processor(self, tenant_id: int, tenant: str, replicas: int) -> None:
        """Raise ``QuotaExceeded`` unless the tenant may deploy one more processor of
        ``replicas`` kernels."""
        quotas = self.of(tenant_id)
        with self.db.session() as s:
            deployed = int(
                s.scalar(
                    select(func.count())
                    .select_from(Processor)
                    .where(Processor.tenant_id == tenant_id, Processor.status.in_(_DEPLOYED))
                )
                or 0
            )
            kernels = self._kernels(s, tenant_id, tenant)
        if deployed >= quotas.processors:
            raise QuotaExceeded(
                "processors", quotas.processors, f"{tenant} has {deployed} processors deployed"
            )
        if kernels + replicas > quotas.kernels:
            raise QuotaExceeded(
                "kernels", quotas.kernels, f"{tenant} has {kernels} kernels, {replicas} more asked"
            )

    def check_kernel(self, tenant_id: int, ask: KernelAsk) -> None:
        """Raise ``InvalidInput`` when a run or processor asks for more than the tenant's
        kernel maxima."""
        quotas = self.of(tenant_id)
        if ask.memory_mb is not None and not 64 < ask.memory_mb <= quotas.kernel_memory_mb:
            raise InvalidInput(
                f"memory_mb must be above 64 and at most the tenant's maximum of "
                f"{quotas.kernel_memory_mb} MiB"
            )
        if ask.cpus is not None and not 0 < ask.cpus <= quotas.kernel_cpus:
            raise InvalidInput(
                f"cpus must be above 0 and at most the tenant's maximum of {quotas.kernel_cpus:g}"
            )
