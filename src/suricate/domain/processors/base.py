"""The state the parts of the processor service share, and its reading and updating of records."""

from __future__ import annotations

import asyncio
import builtins
import json
import time
from typing import Any

from sqlalchemy import select, update

from suricate.domain.auth import TokenService
from suricate.domain.datasets import DatasetService
from suricate.domain.notebooks import NotebookService
from suricate.domain.pagination import Page, keyset, page_of
from suricate.domain.processors.records import (
    RUNNING,
    ActionInfo,
    ProcessorInfo,
    _Live,
    summary,
)
from suricate.domain.quotas import QuotaService
from suricate.domain.streams import StreamService
from suricate.errors import (
    ProcessorNotFound,
)
from suricate.store.db import Database
from suricate.store.tables import Processor, Stream
from suricate.wire.bus import Bus, Fanout


class ProcessorBase:
    """State shared by the processor service's parts (see ``service.ProcessorService``)."""

    db: Database
    bus: Bus
    notebooks: NotebookService
    streams: StreamService
    tokens: TokenService
    principal_of: Any
    quotas: QuotaService | None
    datasets: DatasetService | None = None  # where rows appended by handlers go
    _live: dict[str, _Live]
    _tasks: set[asyncio.Task[Any]]
    _supervisor: asyncio.Task[None] | None
    _feeds: set[tuple[int, str | None, asyncio.Queue[ActionInfo]]]
    replicated: bool = False  # other frontends deploy and stop processors too
    fanout: Fanout | None = None  # tells the other frontends' live feeds
    _loop: asyncio.AbstractEventLoop | None = None  # the feeds' loop

    _starts: dict[str, asyncio.Task[Any]]  # the start (or restart) of a processor under way

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _tenant_name(self, tenant_id: int) -> str:
        from suricate.store.tables import Tenant

        with self.db.session() as s:
            tenant = s.get(Tenant, tenant_id)
            return tenant.name if tenant is not None else ""

    def get(self, tenant_id: int, processor_id: str) -> ProcessorInfo:
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            if row is None or row.tenant_id != tenant_id:
                raise ProcessorNotFound(processor_id)
            stream = s.get(Stream, row.stream_id)
            return self._info(row, stream.name if stream is not None else "")

    def list(
        self,
        tenant_id: int,
        stream: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ProcessorInfo]:
        with self.db.session() as s:
            query = (
                select(Processor, Stream.name).join(Stream).where(Processor.tenant_id == tenant_id)
            )
            if stream is not None:
                query = query.where(Stream.name == stream)
            query, limit = keyset(query, Processor.created_at, cursor, limit, descending=True)
            items = [self._info(row, name) for row, name in s.execute(query)]
            return page_of(items, limit, lambda i: i.created_at)

    def live_infos(self) -> builtins.list[tuple[str, ProcessorInfo]]:
        """Return (tenant name, info) of every processor not stopped, for the metrics."""
        from suricate.store.tables import Tenant

        with self.db.session() as s:
            query = (
                select(Processor, Stream.name, Tenant.name)
                .select_from(Processor)
                .join(Stream, Stream.id == Processor.stream_id)
                .join(Tenant, Tenant.id == Processor.tenant_id)
                .where(Processor.status != "stopped")
            )
            return [(tenant, self._info(row, name)) for row, name, tenant in s.execute(query)]

    def _info(self, row: Processor, stream: str) -> ProcessorInfo:
        live = self._live.get(row.id)
        now = time.monotonic()
        fresh = [i for i in (live.instances.values() if live else []) if now - i.last_report < 10]
        lags = [i.lag for i in fresh if i.lag is not None]
        latencies = [i.latency_ms for i in fresh if i.latency_ms is not None]
        running = row.status == RUNNING
        return ProcessorInfo(
            id=row.id,
            notebook_id=row.notebook_id,
            notebook_revision=row.notebook_revision,
            stream=stream,
            status=row.status,
            error=json.loads(row.error) if row.error else None,
            batch_size=row.batch_size,
            batch_wait_ms=row.batch_wait_ms,
            max_retries=row.max_retries,
            replicas=row.replicas,
            received=row.received,
            processed=row.processed,
            failed=row.failed,
            dead_lettered=row.dead_lettered,
            redelivered=row.redelivered,
            position=row.position,
            restarts=row.restarts,
            throughput=round(sum(i.rate for i in fresh), 1) if running else 0.0,
            lag=max(lags) if lags and running else None,
            latency_ms=max(latencies) if latencies and running else None,
            nodes=sorted(set(json.loads(row.nodes).values())),
            throughput_history=list(live.history) if live else [],
            logs=list(live.logs) if live else [],
            created_at=row.created_at,
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            shadow=json.loads(row.shadow) if row.shadow else None,
            shadow_stats=summary(json.loads(row.shadow_stats or "{}")),
            metrics=[
                {
                    "models": m["models"],
                    "name": m["name"],
                    "mean": m["total"] / m["count"],
                    "count": m["count"],
                }
                for m in json.loads(row.metrics or "[]")
                if m.get("count")
            ],
        )

    def _update(self, processor_id: str, **values: Any) -> None:
        with self.db.session() as s:
            s.execute(update(Processor).where(Processor.id == processor_id).values(**values))
