"""The composition root: the stores and services one Suricate installation runs on."""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suricate.domain.auth import TokenService, principal_of
from suricate.domain.notebooks import NotebookService
from suricate.domain.objects import ObjectService
from suricate.domain.tenants import TenantService
from suricate.domain.throttle import LoginThrottle
from suricate.node.gateway import sdk_only, serve_unix, stop
from suricate.outbound import Outbound
from suricate.settings import Settings
from suricate.store.blobs import LocalObjectStore, object_store
from suricate.store.db import Database

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
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    sessions: Any = field(default=None)  # a SessionService once compute has started
    node: Any = field(default=None)  # the embedded ExecNode
    runs: Any = field(default=None)  # a RunService once compute has started
    schedules: Any = field(default=None)  # a ScheduleService once compute has started
    streams: Any = field(default=None)  # a StreamService once compute has started
    processors: Any = field(default=None)  # a ProcessorService once compute has started

    @classmethod
    def from_settings(cls, settings: Settings) -> Platform:
        """Build the platform; nothing touches the database until asked."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        store = object_store(
            settings.object_store_url, settings.objects_dir, settings.s3_endpoint_url
        )
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
        """Start sessions on execution nodes: in-process by default, or over RabbitMQ."""
        from suricate.domain.processors import ProcessorService
        from suricate.domain.runs import RunService
        from suricate.domain.schedules import ScheduleService
        from suricate.domain.sessions import SessionService
        from suricate.domain.streams import StreamService, load_key
        from suricate.domain.webhooks import WebhookSender, load_secret
        from suricate.node.node import build_node
        from suricate.wire.bus import Bus, InProcessBus

        s = self.settings
        bus: Bus
        if s.broker_url:
            from suricate.wire.rabbitmq import RabbitBus

            bus = RabbitBus(s.broker_url, exec_timeout=s.kernel_exec_timeout)
        else:
            # Short path: Unix socket paths are limited to ~100 bytes.
            self._sdk_dir = Path(tempfile.mkdtemp(prefix="suricate-api-"))
            socket_path = self._sdk_dir / "api.sock"
            # Kernels reach the app itself, but only the SDK's data routes.
            self._sdk_server = await serve_unix(sdk_only(app), socket_path)
            self.node = build_node(s, socket_path)
            await self.node.start()
            bus = InProcessBus(self.node.handle)
            self.node.report = bus.report
        self._bus = bus
        principal_for_ids = functools.partial(principal_of, self.db)
        key = load_key(s.secret_key.get_secret_value() if s.secret_key else None, s.data_dir)
        outbound = Outbound(s.outbound_allowed_list)
        self.streams = StreamService(
            self.db, bus, key, s.stream_allowed_hosts_list, self._object_exists, outbound
        )
        self.processors = ProcessorService(
            self.db, bus, self.notebooks, self.streams, self.tokens, principal_for_ids
        )
        bus.on_report(self.processors.take_report)
        await bus.start()
        self.sessions = SessionService(bus, self.tokens, self.notebooks, s.kernel_idle_timeout)
        await self.sessions.start()
        secret = load_secret(
            s.webhook_secret.get_secret_value() if s.webhook_secret else None, s.data_dir
        )
        self.runs = RunService(
            self.db, self.notebooks, self.sessions, WebhookSender(secret, outbound)
        )
        await self.runs.recover(principal_for_ids)
        self.schedules = ScheduleService(self.db, self.notebooks, self.runs, principal_for_ids)
        await self.schedules.start()
        await self.processors.start()

    async def readiness(self) -> dict[str, str]:
        """Check what serving needs (database, broker, object store); "ok" or the failure."""
        import anyio
        from sqlalchemy import text

        checks: dict[str, str] = {}

        def database() -> None:
            with self.db.session() as s:
                s.execute(text("SELECT 1"))

        checks["database"] = await _check(lambda: anyio.to_thread.run_sync(database))
        bus = getattr(self, "_bus", None)
        checks["broker"] = "ok" if bus is not None and bus.connected() else "not connected"
        check_store = getattr(self.store, "check", None)
        if check_store is not None:
            checks["object_store"] = await _check(lambda: anyio.to_thread.run_sync(check_store))
        return checks

    def _object_exists(self, tenant_id: int, name: str) -> None:
        self.objects.get(tenant_id, name)

    async def stop_compute(self) -> None:
        if self.processors is not None:
            await self.processors.close()
        if self.schedules is not None:
            await self.schedules.close()
        if self.runs is not None:
            await self.runs.close()
        if self.sessions is not None:
            await self.sessions.close()
        if self.node is not None:
            await self.node.close()
        bus = getattr(self, "_bus", None)
        if bus is not None:
            await bus.close()
        await stop(getattr(self, "_sdk_server", None))
        sdk_dir = getattr(self, "_sdk_dir", None)
        if sdk_dir is not None:
            shutil.rmtree(sdk_dir, ignore_errors=True)

    def close(self) -> None:
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()
        self.db.dispose()


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe(), timeout=5)
    except Exception as exc:  # a readiness probe reports any failure, it does not raise
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"
