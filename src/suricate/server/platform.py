"""The composition root: the stores and services one Suricate installation runs on."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from suricate.domain.auth import TokenService, principal_of
from suricate.domain.datasets import DatasetService
from suricate.domain.models import ModelService
from suricate.domain.notebooks import NotebookService
from suricate.domain.objects import ObjectService
from suricate.domain.quotas import Quotas, QuotaService
from suricate.domain.tenants import TenantService
from suricate.domain.throttle import LoginThrottle
from suricate.errors import ExecutionNodeError

if TYPE_CHECKING:
    from suricate.domain.processors import ProcessorService
    from suricate.domain.runs import RunService
    from suricate.domain.schedules import ScheduleService
    from suricate.domain.sessions import SessionService
    from suricate.domain.streams import StreamService
    from suricate.node.node import ExecNode
    from suricate.wire.bus import Bus
from suricate.node.gateway import sdk_only, serve_unix, stop
from suricate.outbound import Outbound
from suricate.server.notices import Notices
from suricate.settings import Settings, warn_if_root
from suricate.store.blobs import LocalObjectStore, object_store
from suricate.store.db import Database
from suricate.store.leader import Leadership, frontend_id
from suricate.wire.bus import Fanout, ReportHook
from suricate.wire.messages import Message

log = logging.getLogger(__name__)
# How often the leader looks for runs whose frontend is gone.
ADOPT_SECONDS = 2.0
# A staged upload this old in a shared store was left by a crashed replica.
STALE_UPLOAD_S = 24 * 3600.0
# glibc's mallopt parameters (malloc.h), and what the server sets them to.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_FREED = 32 * 1024 * 1024
_HEAP_UP_TO = 4 * 1024 * 1024


@dataclass
class Compute:
    """The services that run work: they start once the app serves, and stop with it."""

    bus: Bus
    node: ExecNode | None  # the embedded node, when there is no broker
    streams: StreamService
    processors: ProcessorService
    sessions: SessionService
    runs: RunService
    schedules: ScheduleService
    sdk_server: tuple[Any, asyncio.Task[None]] | None = None
    sdk_dir: Path | None = None
    duties: list[asyncio.Task[None]] = field(default_factory=list)
    leadership: Leadership | None = None
    replicated: bool = False  # frontend replicas share the database
    fanout: Fanout | None = None
    platform: Platform | None = None
    # The leader's own duties (those of a service are started by the service).
    led: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(cls, platform: Platform, app: Any) -> Compute:
        """Start sessions on execution nodes: in-process by default, or over RabbitMQ."""
        from suricate.domain.processors import ProcessorService
        from suricate.domain.runs import RunService
        from suricate.domain.schedules import ScheduleService
        from suricate.domain.sessions import SessionService
        from suricate.domain.streams import StreamService, load_key
        from suricate.domain.webhooks import WebhookSender, load_secret
        from suricate.node.node import build_node
        from suricate.wire.bus import InProcessBus

        s = platform.settings
        replicated = platform.replicated
        frontend = frontend_id()
        bus: Bus
        node = sdk_server = sdk_dir = None
        if s.broker_url:
            from suricate.wire.rabbitmq import RabbitBus

            bus = RabbitBus(s.broker_url, exec_timeout=s.kernel_exec_timeout)
        else:
            from suricate.node.sandbox import make_socket_dir

            sdk_dir = make_socket_dir("suricate-api-")
            socket_path = sdk_dir / "api.sock"
            # Kernels reach the app itself, but only the SDK's data routes.
            sdk_server = await serve_unix(sdk_only(app), socket_path)
            node = build_node(s, socket_path)
            await node.start()
            bus = InProcessBus(node.handle)
            node.report = bus.report
        if replicated and not (s.secret_key and s.webhook_secret):
            log.warning(
                "the database is shared (frontend replicas): set SURICATE_SECRET_KEY and "
                "SURICATE_WEBHOOK_SECRET, the same on every replica, or each keeps its own"
            )
        principal_for_ids = functools.partial(principal_of, platform.db)
        key = load_key(s.secret_key.get_secret_value() if s.secret_key else None, s.data_dir)
        outbound = Outbound(s.outbound_allowed_list)
        streams = StreamService(
            platform.db, bus, key, s.stream_allowed_hosts_list, platform.object_exists, outbound
        )
        processors = ProcessorService(
            platform.db,
            bus,
            platform.notebooks,
            streams,
            platform.tokens,
            principal_for_ids,
            platform.quotas,
        )
        processors.datasets = platform.datasets
        processors.replicated = replicated
        broadcasts: list[ReportHook] = []

        async def take_broadcast(message: Message) -> None:
            for hook in broadcasts:
                await hook(message)

        bus.on_report(processors.take_report)
        bus.on_broadcast(take_broadcast)
        await bus.start()
        fanout = Fanout(bus, frontend)
        processors.broadcast_with(fanout)
        sessions = SessionService(
            bus,
            platform.tokens,
            platform.notebooks,
            s.kernel_idle_timeout,
            s.kernel_detached_grace,
            quotas=platform.quotas,
            db=platform.db,
            frontend=frontend,
            lasting=bool(s.broker_url),
        )
        await sessions.start()
        broadcasts += [sessions.take_broadcast, processors.take_broadcast]
        secret = load_secret(
            s.webhook_secret.get_secret_value() if s.webhook_secret else None, s.data_dir
        )
        webhooks = WebhookSender(secret, outbound)
        runs = RunService(platform.db, platform.notebooks, sessions, webhooks, platform.quotas)
        processors.models, processors.runs = platform.models, runs  # promotion, gate runs
        runs.frontend = frontend
        runs.hand_over = replicated
        if not replicated:
            await runs.recover(principal_for_ids)
        schedules = ScheduleService(platform.db, platform.notebooks, runs, principal_for_ids)
        schedules.objects = platform.objects
        compute = cls(
            bus, node, streams, processors, sessions, runs, schedules, sdk_server, sdk_dir
        )
        compute.replicated, compute.fanout, compute.platform = replicated, fanout, platform
        compute.leadership = Leadership(
            platform.db, compute._elected, compute._demoted, frontend=frontend
        )
        await compute.leadership.start()
        return compute

    async def _elected(self) -> None:
        """Take up the singleton duties: this frontend leads."""
        assert self.platform is not None
        self.sessions.start_culling()
        await self.schedules.start()
        await self.processors.start()
        self.led.append(asyncio.create_task(_write_datasets(self.platform)))
        if self.replicated:
            self.led.append(asyncio.create_task(self._adopt_runs_forever()))

    async def _demoted(self) -> None:
        """Drop the singleton duties: another frontend leads, or this one stops."""
        for task in self.led:
            task.cancel()
        for task in self.led:
            with contextlib.suppress(BaseException):
                await task
        self.led.clear()
        await self.sessions.stop_culling()
        await self.schedules.close()
        await self.processors.stop_supervising()

    async def _adopt_runs_forever(self) -> None:
        """Drive the runs of frontends that are gone (killed, or stopped for an update)."""
        assert self.leadership is not None and self.platform is not None
        principal_for_ids = functools.partial(principal_of, self.platform.db)
        while True:
            try:
                alive = await asyncio.to_thread(self.leadership.alive)
                await self.runs.adopt(principal_for_ids, alive)
            except Exception:
                log.exception("taking over runs failed")
            await asyncio.sleep(ADOPT_SECONDS)

    async def stop(self) -> None:
        """Stop every service, the node and the bus, in the reverse order of starting."""
        if self.leadership is not None:
            await self.leadership.close()  # another replica takes the lead at once
        for duty in self.duties:
            duty.cancel()
        for duty in self.duties:
            with contextlib.suppress(BaseException):
                await duty
        await self.processors.close()
        await self.schedules.close()
        await self.runs.close()
        await self.sessions.close()
        if self.node is not None:
            await self.node.close()
        if self.fanout is not None:
            await self.fanout.close()
        await self.bus.close()
        if self.leadership is not None:
            # Gone: the leader takes over the runs this frontend left at once.
            await asyncio.to_thread(self.leadership.leave)
        await stop(self.sdk_server)
        if self.sdk_dir is not None:
            await asyncio.to_thread(shutil.rmtree, self.sdk_dir, True)


@dataclass
class Platform:
    """Everything a request or a CLI command needs, built once from the settings.

    The stores and the services that need only them are here from the start; the services
    that run work (``Compute``) once ``start_compute`` has run, as typed properties.
    """

    settings: Settings
    db: Database
    store: LocalObjectStore
    tenants: TenantService
    tokens: TokenService
    objects: ObjectService
    notebooks: NotebookService
    models: ModelService
    datasets: DatasetService
    compute: Compute | None = field(default=None, init=False)
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle, init=False)
    notices: Notices = field(default_factory=Notices, init=False)
    quotas: QuotaService = field(init=False)
    _lock: IO[bytes] | None = field(default=None, init=False, repr=False)
    _serving: bool = field(default=False, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Platform:
        """Build the platform; nothing touches the database until asked."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        store = object_store(
            settings.object_store_url, settings.objects_dir, settings.s3_endpoint_url
        )
        objects = ObjectService(db, store, settings.max_upload_bytes)
        platform = cls(
            settings=settings,
            db=db,
            store=store,
            tenants=TenantService(db),
            tokens=TokenService(db),
            objects=objects,
            notebooks=NotebookService(db),
            models=ModelService(db, store, settings.max_upload_bytes),
            datasets=DatasetService(db, objects, settings.append_rows, settings.append_seconds),
        )
        platform.quotas = QuotaService(db, default_quotas(settings), platform._sessions_of)
        if platform.replicated:  # every replica sees the same failed logins
            platform.login_throttle = LoginThrottle.shared(db)
        return platform

    def _sessions_of(self, tenant: str) -> list[Any]:
        return self.compute.sessions.of_tenant(tenant) if self.compute is not None else []

    def _started(self) -> Compute:
        if self.compute is None:
            raise ExecutionNodeError("not_started", "the server's compute has not started")
        return self.compute

    @property
    def sessions(self) -> SessionService:
        return self._started().sessions

    @property
    def runs(self) -> RunService:
        return self._started().runs

    @property
    def schedules(self) -> ScheduleService:
        return self._started().schedules

    @property
    def streams(self) -> StreamService:
        return self._started().streams

    @property
    def processors(self) -> ProcessorService:
        return self._started().processors

    @property
    def node(self) -> ExecNode | None:
        """The embedded execution node (None with a broker, or before compute starts)."""
        return self.compute.node if self.compute is not None else None

    def start(self) -> None:
        """Migrate the schema to the latest revision."""
        self.db.upgrade()

    @property
    def replicated(self) -> bool:
        """Whether frontend replicas may share this installation (its database is not
        SQLite): singleton duties go to an elected leader, sessions outlive a frontend."""
        return self.db.engine.dialect.name != "sqlite"

    @property
    def embedded(self) -> bool:
        """Whether this server owns its stores alone: SQLite, or objects in its data dir."""
        data_dir = self.settings.data_dir.resolve()
        root = self.store.root.resolve()
        return not self.replicated or root == data_dir or data_dir in root.parents

    def start_serving(self) -> None:
        """Start serving: migrate; in the embedded mode, lock the data dir and clear
        half-written uploads (with a shared store, only those left for a day)."""
        if self._lock is not None or self._serving:
            return
        warn_if_root()
        _tune_malloc()
        self.start()
        self._serving = True
        if self.embedded:
            self._lock = self.store.lock()
            cleared = self.store.clear_staging()
        else:
            # Other replicas upload into the shared store now: only leftovers of crashes go.
            cleared = self.store.clear_staging(older_than=STALE_UPLOAD_S)
        if cleared:
            log.warning("removed %d half-written uploads left by an earlier run", cleared)

    async def start_compute(self, app: Any) -> None:
        """Start sessions on execution nodes: in-process by default, or over RabbitMQ."""
        self.compute = await Compute.start(self, app)

    async def readiness(self) -> dict[str, str]:
        """Check what serving needs (database, broker, object store); "ok" or the failure."""
        import anyio
        from sqlalchemy import text

        checks: dict[str, str] = {}

        def database() -> None:
            with self.db.session() as s:
                s.execute(text("SELECT 1"))

        checks["database"] = await _check(lambda: anyio.to_thread.run_sync(database))
        bus = self.compute.bus if self.compute is not None else None
        checks["broker"] = "ok" if bus is not None and bus.connected() else "not connected"
        check_store = getattr(self.store, "check", None)
        if check_store is not None:
            checks["object_store"] = await _check(lambda: anyio.to_thread.run_sync(check_store))
        return checks

    def object_exists(self, tenant_id: int, name: str) -> None:
        """Raise ``ObjectNotFound`` unless the tenant has an object of that name."""
        self.objects.get(tenant_id, name)

    async def stop_compute(self) -> None:
        if self.compute is not None:
            compute, self.compute = self.compute, None
            await compute.stop()

    def close(self) -> None:
        self._serving = False
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        self.db.dispose()


def default_quotas(settings: Settings) -> Quotas:
    """Return the quotas every tenant has unless an administrator set its own."""
    return Quotas(
        sessions_per_user=settings.quota_sessions_per_user,
        runs=settings.quota_runs_per_tenant,
        processors=settings.quota_processors_per_tenant,
        kernels=settings.quota_kernels_per_tenant,
        kernel_memory_mb=settings.kernel_memory_mb,
        kernel_cpus=settings.kernel_cpus,
    )


async def _write_datasets(platform: Platform) -> None:
    """Write the rows appended to datasets out as versions, as they fall due."""
    while True:
        await asyncio.sleep(1.0)
        with contextlib.suppress(Exception):  # each dataset's failure is logged where it happens
            await platform.datasets.flush_due()


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe(), timeout=5)
    except Exception as exc:  # a readiness probe reports any failure, it does not raise
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


def _tune_malloc() -> None:
    """Keep glibc from giving memory back to the kernel after every chunk of a body.

    Streaming a body allocates and frees a few buffers of 64 KiB to 1 MiB per chunk (uvicorn's,
    Starlette's). With glibc's defaults each gets its own mmap, or the heap is trimmed after it,
    so every chunk page-faults fresh memory: on a 2-core VM that was most of the server's CPU
    while receiving (0.25 s of 0.3 s for 256 MiB). Buffers under 4 MiB now come from the heap,
    and up to 32 MiB freed at its top is kept for the next ones.
    """
    import ctypes
    import os

    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        glibc = None
    if not glibc:
        return  # another C library (musl, macOS): its own allocator, left as it is
    libc = ctypes.CDLL(None)
    libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_UP_TO)
    libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_FREED)
