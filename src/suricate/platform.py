"""The composition root: the stores and services one Suricate installation runs on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suricate.auth import TokenService
from suricate.blobstore import LocalObjectStore
from suricate.db import Database
from suricate.notebooks import NotebookService
from suricate.objects import ObjectService
from suricate.settings import Settings
from suricate.tenants import TenantService

log = logging.getLogger(__name__)


@dataclass
class Platform:
    """Everything a request or a CLI command needs, built once from the settings."""

    settings: Settings
    db: Database
    store: LocalObjectStore
    tenants: TenantService
    tokens: TokenService
    objects: ObjectService
    notebooks: NotebookService
    sessions: Any = field(default=None)  # a SessionService once compute has started
    node: Any = field(default=None)  # the embedded ExecNode

    @classmethod
    def from_settings(cls, settings: Settings) -> Platform:
        """Build the platform; nothing touches the database until asked."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        store = LocalObjectStore(settings.objects_dir)
        return cls(
            settings=settings,
            db=db,
            store=store,
            tenants=TenantService(db),
            tokens=TokenService(db),
            objects=ObjectService(db, store, settings.max_upload_bytes),
            notebooks=NotebookService(db),
        )

    def start(self) -> None:
        """Migrate the schema to the latest revision."""
        self.db.upgrade()

    def start_serving(self) -> None:
        """Start as the one server of this data dir: migrate, lock, clear half-written uploads."""
        if getattr(self, "_lock", None) is not None:
            return
        self.start()
        self._lock = self.store.lock()
        cleared = self.store.clear_staging()
        if cleared:
            log.warning("removed %d half-written uploads left by an earlier run", cleared)

    async def start_compute(self, app: Any) -> None:
        """Start the embedded execution node, the bus to it, sessions, and the SDK socket."""
        from suricate.bus import InProcessBus
        from suricate.execnode import ExecNode
        from suricate.kernels import KernelConfig
        from suricate.sandbox import Limits, describe
        from suricate.sessions import SessionService

        s = self.settings
        log.info(describe(s.kernel_sandbox))
        # Short path: Unix socket paths are limited to ~100 bytes.
        self._sdk_dir = Path(tempfile.mkdtemp(prefix="suricate-api-"))
        socket_path = self._sdk_dir / "api.sock"
        self._sdk_server = await _serve_unix(app, socket_path)
        hidden = [s.data_dir.resolve()]
        config = KernelConfig(
            limits=Limits(s.kernel_memory_mb),
            sandbox=s.kernel_sandbox,
            network=s.kernel_network,
            hidden=hidden,
            sdk_socket=socket_path,
            exec_timeout=s.kernel_exec_timeout,
        )
        self.node = ExecNode(config, s.kernel_pool_size, s.kernel_idle_timeout)
        await self.node.start()
        bus = InProcessBus(self.node.handle)
        self.sessions = SessionService(bus, self.tokens, self.notebooks, s.kernel_idle_timeout)
        await self.sessions.start()

    async def stop_compute(self) -> None:
        if self.sessions is not None:
            await self.sessions.close()
        if self.node is not None:
            await self.node.close()
        server = getattr(self, "_sdk_server", None)
        if server is not None:
            server[0].should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server[1], 5)
        sdk_dir = getattr(self, "_sdk_dir", None)
        if sdk_dir is not None:
            shutil.rmtree(sdk_dir, ignore_errors=True)

    def close(self) -> None:
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()
        self.db.dispose()


async def _serve_unix(app: Any, path: Path) -> tuple[Any, asyncio.Task[None]]:
    """Serve ``app`` on a Unix socket too: the path the sandboxed SDK reaches the API by."""
    import uvicorn

    class _Server(uvicorn.Server):
        # The main server owns the process's signals.
        def capture_signals(self) -> Any:
            return contextlib.nullcontext()

    server = _Server(uvicorn.Config(app, uds=str(path), lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    return server, task
