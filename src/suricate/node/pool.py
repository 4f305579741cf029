"""The kernel pool of a node: forked kernels from per-tenant templates, or warm kernels.

With ``SURICATE_KERNEL_FORK`` on, each tenant (each user, for interactive sessions) gets a
template process (``forking.py``) the first time it asks for a kernel, and every kernel after that
is forked from it in milliseconds; no kernel is kept warm. With it off, or when a template cannot
start, a warm pool keeps ``SURICATE_KERNEL_POOL_SIZE`` started kernels per active tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time

from suricate.node import forking, sandbox
from suricate.node.kernels import Kernel, KernelConfig
from suricate.node.sandbox import Limits

log = logging.getLogger(__name__)
# After a template failed to start, its kernels start the usual way for this long.
TEMPLATE_RETRY_S = 60


class KernelPool:
    """Start kernels for tenants, keeping warm ones ready and culling idle ones."""

    def __init__(self, config: KernelConfig, warm_per_tenant: int = 1) -> None:
        self.config = config
        self.warm_per_tenant = warm_per_tenant
        self.base_dir = sandbox.make_base_dir()
        self._warm: dict[str, list[Kernel]] = {}
        self._filling: dict[str, asyncio.Task[None]] = {}
        self._tenant_seen: dict[str, float] = {}
        # Every kernel this pool started and that is not shut down yet, wherever it went.
        self._live: set[Kernel] = set()
        self._templates: dict[tuple[str, str], forking.Template] = {}
        self._template_starts: dict[tuple[str, str], asyncio.Task[forking.Template]] = {}
        self._template_failed: dict[tuple[str, str], float] = {}  # when a start last failed

    def _new_kernel(
        self,
        tenant: str,
        limits: Limits | None = None,
        template: forking.Template | None = None,
    ) -> Kernel:
        kernel = Kernel(self.config, self.base_dir, tenant, limits, template)
        kernel.on_shutdown = self._gone
        self._live.add(kernel)
        if template is not None:
            template.kernels += 1
        return kernel

    def _gone(self, kernel: Kernel) -> None:
        if kernel in self._live:
            self._live.discard(kernel)
            if kernel.template is not None:
                kernel.template.kernels -= 1

    async def acquire(
        self,
        tenant: str,
        limits: Limits | None = None,
        user: str = "",
        env: dict[str, str] | None = None,
    ) -> Kernel:
        """Return a started kernel for ``tenant``: forked from the template of ``tenant`` and
        ``user`` (forking on), else a warm one when ready, else a new one.

        Warm kernels have the node's default limits; other ``limits`` get a new kernel. ``env``
        is set in a new kernel's environment (a warm one's ``extra_env`` is empty).
        """
        self._tenant_seen[tenant] = time.monotonic()
        if self.config.fork:
            template = await self._template(tenant, user)
            if template is not None:
                forked = self._new_kernel(tenant, limits, template)
                forked.extra_env = dict(env or {})
                await forked.start()
                return forked
        if limits is not None and limits != self.config.limits:
            own = self._new_kernel(tenant, limits)
            own.extra_env = dict(env or {})
            await own.start()
            return own
        ready = self._warm.get(tenant, [])
        kernel = None
        while ready:
            candidate = ready.pop(0)
            if await candidate.alive():
                kernel = candidate
                break
            await candidate.shutdown()
        if kernel is None:
            kernel = self._new_kernel(tenant)
            await kernel.start()
        self._refill(tenant)
        return kernel

    async def _template(self, tenant: str, user: str) -> forking.Template | None:
        """Return the running template of ``tenant`` and ``user``, started if need be; None
        when it cannot start (logged: kernels then start the usual way)."""
        key = (tenant, user)
        template = self._templates.get(key)
        if template is not None and template.alive:
            return template
        failed = self._template_failed.get(key)
        if failed is not None and time.monotonic() - failed < TEMPLATE_RETRY_S:
            return None
        task = self._template_starts.get(key)
        if task is None:
            if template is not None:  # died: its kernels died with it
                self._templates.pop(key, None)
                await template.stop()
            task = asyncio.create_task(self._start_template(tenant, user))
            self._template_starts[key] = task
            task.add_done_callback(lambda _: self._template_starts.pop(key, None))
        try:
            return await asyncio.shield(task)
        except Exception:
            self._template_failed[key] = time.monotonic()
            log.exception(
                "cannot start the kernel template of tenant %s: its kernels start the usual way "
                "for %d s",
                tenant,
                TEMPLATE_RETRY_S,
            )
            return None

    async def _start_template(self, tenant: str, user: str) -> forking.Template:
        template = forking.Template(self.config, self.base_dir, tenant, user)
        await template.start()
        self._templates[(tenant, user)] = template
        return template

    def _refill(self, tenant: str) -> None:
        if self.warm_per_tenant <= 0 or self.config.fork:
            return
        task = self._filling.get(tenant)
        if task is None or task.done():
            self._filling[tenant] = asyncio.create_task(self._fill(tenant))

    async def _fill(self, tenant: str) -> None:
        ready = self._warm.setdefault(tenant, [])
        while len(ready) < self.warm_per_tenant:
            kernel = self._new_kernel(tenant)
            try:
                await kernel.start()
            except Exception:
                log.exception("could not start a warm kernel for tenant %s", tenant)
                return
            if self._warm.get(tenant) is not ready:
                # The tenant was culled while this kernel started.
                await kernel.shutdown()
                return
            ready.append(kernel)
            self._tenant_seen[tenant] = max(self._tenant_seen.get(tenant, 0.0), time.monotonic())

    async def warm_up(self, tenant: str) -> None:
        """Start the tenant's warm kernels now and wait for them."""
        self._tenant_seen[tenant] = time.monotonic()
        self._refill(tenant)
        await self._filling[tenant]

    async def cull_idle_tenants(self, idle_timeout: float) -> None:
        """Stop warm kernels (and templates with no kernel left) of tenants that have not
        started anything for ``idle_timeout``."""
        now = time.monotonic()
        for tenant, seen in list(self._tenant_seen.items()):
            filling = self._filling.get(tenant)
            if filling is not None and not filling.done():
                continue  # a warm kernel is starting: its start counts as the tenant's use
            if now - seen > idle_timeout:
                del self._tenant_seen[tenant]
                self._filling.pop(tenant, None)
                for kernel in self._warm.pop(tenant, []):
                    await kernel.shutdown()
        for key, template in list(self._templates.items()):
            # Also those whose last kernels outlived the tenant's idle time.
            if key[0] not in self._tenant_seen and template.kernels <= 0:
                del self._templates[key]
                await template.stop()

    async def close(self) -> None:
        for task in self._filling.values():
            task.cancel()
        for task in self._filling.values():
            with contextlib.suppress(BaseException):
                await task
        for kernels in self._warm.values():
            for kernel in kernels:
                await kernel.shutdown()
        self._warm.clear()
        for kernel in list(self._live):
            await kernel.shutdown()
        for start in list(self._template_starts.values()):
            start.cancel()
            with contextlib.suppress(BaseException):
                await start
        for template in self._templates.values():
            await template.stop()
        self._templates.clear()
        self.config.close()
        await asyncio.to_thread(self._remove_base_dir)

    def _remove_base_dir(self) -> None:
        for point in sandbox.mounts_under(self.base_dir):
            sandbox.unmount(point)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def kernels(self) -> list[Kernel]:
        """Return every kernel this pool started that still runs (warm ones included)."""
        return list(self._live)
