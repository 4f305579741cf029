"""The processor service: all its parts, started and closed as one."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from suricate.domain.auth import TokenService
from suricate.domain.notebooks import NotebookService
from suricate.domain.processors.records import (
    ActionInfo,
    _Live,
)
from suricate.domain.processors.supervision import Supervision
from suricate.domain.quotas import QuotaService
from suricate.domain.streams import StreamService
from suricate.store.db import Database
from suricate.wire.bus import Bus, Fanout


class ProcessorService(Supervision):
    """Deploy, follow, stop and restart processors; record their actions and dead letters."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        notebooks: NotebookService,
        streams: StreamService,
        tokens: TokenService,
        principal_of: Any,
        quotas: QuotaService | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.notebooks = notebooks
        self.streams = streams
        self.tokens = tokens
        self.principal_of = principal_of
        self.quotas = quotas
        self._live: dict[str, _Live] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._starts: dict[str, asyncio.Task[Any]] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._feeds: set[tuple[int, str | None, asyncio.Queue[ActionInfo]]] = set()
        streams.deliver_local = self._deliver_local

    async def start(self) -> None:
        await self._recover()
        self._supervisor = asyncio.create_task(self._supervise_forever())

    def broadcast_with(self, fanout: Fanout) -> None:
        """Tell other frontends' live feeds of new actions through ``fanout`` (on the loop)."""
        self.fanout = fanout
        self._loop = asyncio.get_running_loop()

    async def stop_supervising(self) -> None:
        """Stop supervising (another frontend leads now); what this one started goes on."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(BaseException):
                await supervisor

    async def close(self) -> None:
        await self.stop_supervising()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
