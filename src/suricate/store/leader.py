"""Leader election among frontends: one replica at a time runs the singleton duties.

Several `suricate serve` replicas share one PostgreSQL database. The scheduler, processor
supervision, the session culler and the take-over of runs whose frontend died must each run
on exactly one of them. The leader is the replica that holds a PostgreSQL *session-level
advisory lock* (``pg_try_advisory_lock``) on a connection of its own:

- The lock lives exactly as long as that connection. A leader killed with -9 closes its socket
  and PostgreSQL frees the lock at once; another replica, trying every ``interval`` seconds,
  takes over within about a second. A leader cut off from the network is dropped by TCP
  keepalives (about ten seconds), and steps down itself as soon as its own check fails.
- The duties' state (schedules' next due time, runs, sessions) lives in the same database, so
  the one thing that decides who leads is the thing the duties act on: a replica that cannot
  reach the database could not act anyway. RabbitMQ's single active consumer would add a second
  source of truth whose view can diverge from the database's.
- Leadership is not trusted alone: the duties write with compare-and-set (a schedule's due time
  advances only from the value read), so two leaders overlapping for an instant fire nothing
  twice.

On SQLite (the embedded mode) there is one server per data dir, held by its lock: it leads.

Every replica also keeps a heartbeat row in ``frontends`` (its ``seen_at``): the leader knows
which replicas are alive, and takes over the runs of those that are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, create_engine, delete, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from suricate.store.db import Database
from suricate.store.tables import Frontend, utcnow

log = logging.getLogger(__name__)

# "Suricate" in ASCII: the advisory lock's key, the same for every replica.
LOCK_KEY = 0x5375726963617465
# A replica not heard of for this long is gone (its heartbeat is every ``interval``).
FRONTEND_STALE = timedelta(seconds=15)
# Heartbeat rows older than this are removed.
FRONTEND_FORGET = timedelta(hours=1)

Duty = Callable[[], Awaitable[None]]


def frontend_id() -> str:
    """A name for this replica, unique among all: host, process and a random tail."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Leadership:
    """Elect this replica leader when it can, and say when it is elected or demoted."""

    def __init__(
        self,
        db: Database,
        on_elected: Duty,
        on_demoted: Duty,
        interval: float = 1.0,
        frontend: str | None = None,
    ) -> None:
        self.db = db
        self.on_elected = on_elected
        self.on_demoted = on_demoted
        self.interval = interval
        self.frontend = frontend or frontend_id()
        self.leader = False
        self.shared = make_url(db.url).get_backend_name() != "sqlite"
        self._engine: Any = None
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Beat once and try to lead once before returning; then go on in the background."""
        await asyncio.to_thread(self._beat)
        await self._step()
        self._task = asyncio.create_task(self._forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self.leader:
            self.leader = False
            await self.on_demoted()
        await asyncio.to_thread(self._release)

    def alive(self, since: datetime | None = None) -> set[str]:
        """The replicas heard of lately (this one included)."""
        cutoff = (since or utcnow()) - FRONTEND_STALE
        with self.db.session() as s:
            return set(s.scalars(select(Frontend.id).where(Frontend.seen_at >= cutoff)))

    def leave(self) -> None:
        """Say this replica is gone (a clean stop): its runs are taken over at once."""
        with self.db.session() as s:
            s.execute(delete(Frontend).where(Frontend.id == self.frontend))

    async def _forever(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(self.interval)
            beats += 1
            try:
                await asyncio.to_thread(self._beat, beats % 600 == 0)
                await self._step()
            except Exception:
                log.exception("leader election step failed")

    async def _step(self) -> None:
        if not self.leader:
            if await asyncio.to_thread(self._try):
                self.leader = True
                log.info("frontend %s leads the singleton duties", self.frontend)
                await self.on_elected()
        elif not await asyncio.to_thread(self._check):
            self.leader = False
            log.warning("frontend %s lost the lead; its singleton duties stop", self.frontend)
            await self.on_demoted()

    def _beat(self, forget: bool = False) -> None:
        now = utcnow()
        with self.db.session() as s:
            updated = cast(
                "CursorResult[Any]",
                s.execute(update(Frontend).where(Frontend.id == self.frontend).values(seen_at=now)),
            ).rowcount
            if not updated:
                s.add(Frontend(id=self.frontend, started_at=now, seen_at=now))
            if forget:
                s.execute(delete(Frontend).where(Frontend.seen_at < now - FRONTEND_FORGET))

    def _try(self) -> bool:
        if not self.shared:
            return True
        try:
            if self._conn is None:
                if self._engine is None:
                    self._engine = create_engine(
                        self.db.url,
                        poolclass=NullPool,
                        # A leader cut off is noticed by PostgreSQL in about ten seconds.
                        connect_args={
                            "connect_timeout": 5,
                            "keepalives": 1,
                            "keepalives_idle": 5,
                            "keepalives_interval": 2,
                            "keepalives_count": 3,
                        },
                    )
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = self._conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            ).scalar()
            return bool(got)
        except Exception:
            log.exception("could not try the leader lock")
            self._release()
            return False

    def _check(self) -> bool:
        """Tell whether the lock's connection still answers (the lock goes with it)."""
        if not self.shared:
            return True
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except Exception:
            self._release()
            return False

    def _release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()  # the session ends: PostgreSQL frees its advisory locks
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
