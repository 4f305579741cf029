"""Schedules: run a notebook on a cron expression, in a timezone, skipping while the last runs."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import CursorResult, select, update

from suricate.domain.auth import Principal
from suricate.domain.notebooks import NotebookService
from suricate.domain.objects import ObjectService
from suricate.domain.pagination import Page, keyset, page_of
from suricate.domain.runs import FINISHED, RunService
from suricate.domain.triggers import Trigger, observe
from suricate.domain.webhooks import check_url
from suricate.errors import InvalidInput, ScheduleNotFound
from suricate.store.db import Database
from suricate.store.tables import Run, Schedule, utcnow

log = logging.getLogger(__name__)
# How often the scheduler looks for due schedules; cron's resolution is a minute.
TICK_SECONDS = 1.0


@dataclass(frozen=True)
class ScheduleInfo:
    id: str
    notebook_id: str
    cron: str
    timezone: str
    parameters: dict[str, Any]
    next_at: datetime
    last_run_id: str | None
    runs_started: int
    runs_skipped: int
    last_skipped_at: datetime | None
    created_at: datetime
    webhook_url: str | None
    trigger: dict[str, Any] | None = None


NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # next_at of a schedule that fires on data


def _info(row: Schedule) -> ScheduleInfo:
    return ScheduleInfo(
        id=row.id,
        notebook_id=row.notebook_id,
        cron=row.cron,
        timezone=row.timezone,
        parameters=json.loads(row.parameters),
        next_at=row.next_at,
        last_run_id=row.last_run_id,
        runs_started=row.runs_started,
        runs_skipped=row.runs_skipped,
        last_skipped_at=row.last_skipped_at,
        created_at=row.created_at,
        webhook_url=row.webhook_url,
        trigger=json.loads(row.trigger) if row.trigger else None,
    )


def next_time(cron: str, timezone: str, after: datetime) -> datetime:
    """Return the first time after ``after`` that ``cron`` names, read in ``timezone``."""
    from croniter import croniter

    local = after.astimezone(ZoneInfo(timezone))
    result: datetime = croniter(cron, local).get_next(datetime)
    return result


def check(cron: str, timezone: str) -> None:
    """Raise InvalidInput unless the cron expression and the timezone are valid."""
    from croniter import croniter

    if not croniter.is_valid(cron):
        raise InvalidInput(f"invalid cron expression {cron!r} (e.g. '*/5 * * * *')")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown timezone {timezone!r} (e.g. 'Europe/Paris')") from exc


class ScheduleService:
    """Keep schedules and start their runs when due."""

    def __init__(
        self,
        db: Database,
        notebooks: NotebookService,
        runs: RunService,
        principal_of: Callable[[int | None, int], Principal | None],
    ) -> None:
        self.db = db
        self.notebooks = notebooks
        self.runs = runs
        self.principal_of = principal_of
        self.objects: ObjectService | None = None  # set once compute starts: data triggers
        self._loop: asyncio.Task[None] | None = None

    def create(
        self,
        principal: Principal,
        notebook_id: str,
        cron: str | None,
        parameters: dict[str, Any] | None = None,
        timezone: str = "UTC",
        webhook_url: str | None = None,
        trigger: Any = None,
    ) -> ScheduleInfo:
        """A schedule on a cron expression, or on data (a ``trigger``): exactly one of them."""
        if (cron is None) == (trigger is None):
            raise InvalidInput("a schedule has a cron expression or a trigger (one of them)")
        watched = Trigger.parse(trigger) if trigger is not None else None
        if cron is not None:
            check(cron, timezone)
        webhooks = getattr(self.runs, "webhooks", None)
        if webhooks is not None:
            webhooks.check_url(webhook_url)
        else:
            check_url(webhook_url)
        notebook = self.notebooks.find(principal.tenant_id, notebook_id)
        now = utcnow()
        state = None
        if watched is not None:
            with self.db.session() as s:
                _, state = observe(s, self._objects(), principal.tenant_id, watched, {})
        row = Schedule(
            id=uuid.uuid4().hex,
            tenant_id=principal.tenant_id,
            notebook_id=notebook.id,
            user_id=principal.user_id,
            cron=cron or "",
            timezone=timezone,
            parameters=json.dumps(parameters or {}),
            webhook_url=webhook_url,
            next_at=next_time(cron, timezone, now) if cron is not None else NEVER,
            trigger=json.dumps(watched.as_dict()) if watched is not None else None,
            trigger_state=json.dumps(state) if state is not None else None,
            runs_started=0,
            runs_skipped=0,
            created_at=now,
        )
        with self.db.session() as s:
            s.add(row)
        return _info(row)

    def list(
        self,
        tenant_id: int,
        notebook_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ScheduleInfo]:
        with self.db.session() as s:
            query = select(Schedule).where(Schedule.tenant_id == tenant_id)
            if notebook_id is not None:
                notebook = self.notebooks.find(tenant_id, notebook_id)  # by id or by name
                query = query.where(Schedule.notebook_id == notebook.id)
            query, limit = keyset(query, Schedule.created_at, cursor, limit)
            return page_of([_info(r) for r in s.scalars(query)], limit, lambda i: i.created_at)

    def get(self, tenant_id: int, schedule_id: str) -> ScheduleInfo:
        with self.db.session() as s:
            return _info(self._row(s, tenant_id, schedule_id))

    def delete(self, tenant_id: int, schedule_id: str) -> None:
        with self.db.session() as s:
            s.delete(self._row(s, tenant_id, schedule_id))

    async def start(self) -> None:
        self._loop = asyncio.create_task(self._tick_forever())

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(BaseException):
                await self._loop

    async def tick(self) -> None:
        """Start (or skip) every schedule that is due now."""
        starts = await asyncio.to_thread(self._due, utcnow())
        for schedule_id, user_id, tenant_id, notebook_id, parameters, webhook in starts:
            run_id = None
            principal = await asyncio.to_thread(self.principal_of, user_id, tenant_id)
            if principal is not None:
                try:
                    info = await self.runs.trigger(
                        principal, notebook_id, json.loads(parameters), webhook_url=webhook
                    )
                    run_id = info.id
                except Exception:
                    log.exception("schedule %s could not start its run", schedule_id)
            await asyncio.to_thread(self._started, schedule_id, run_id)

    def _objects(self) -> ObjectService:
        if self.objects is None:
            raise InvalidInput("schedules on data need the server's compute started")
        return self.objects

    def _fired(
        self, now: datetime
    ) -> builtins.list[tuple[str, int | None, int, str, str, str | None]]:
        """The schedules on data whose trigger fired (and whose last run has ended)."""
        if self.objects is None:
            return []
        starts = []
        with self.db.session() as s:
            for row in s.scalars(select(Schedule).where(Schedule.trigger.is_not(None))):
                if row.last_run_id is not None:
                    last = s.get(Run, row.last_run_id)
                    if last is not None and last.status not in FINISHED:
                        continue  # it fires once the last run has ended: nothing is lost
                trigger = Trigger.parse(json.loads(row.trigger or "{}"))
                state = json.loads(row.trigger_state or "{}")
                try:
                    fired, state = observe(s, self.objects, row.tenant_id, trigger, state)
                except Exception:
                    log.exception("schedule %s: its trigger could not look", row.id)
                    continue
                row.trigger_state = json.dumps(state)
                if fired is None:
                    continue
                row.runs_started += 1
                parameters = {**json.loads(row.parameters), "trigger": fired}
                starts.append(
                    (
                        row.id,
                        row.user_id,
                        row.tenant_id,
                        row.notebook_id,
                        json.dumps(parameters),
                        row.webhook_url,
                    )
                )
        return starts

    def _due(
        self, now: datetime
    ) -> builtins.list[tuple[str, int | None, int, str, str, str | None]]:
        """Advance every schedule due by ``now``; return those whose run should start."""
        starts = self._fired(now)
        with self.db.session() as s:
            due = select(Schedule).where(Schedule.next_at <= now, Schedule.trigger.is_(None))
            for row in list(s.scalars(due)):
                # Advance first: a schedule fires once per due time, whatever happens next; and
                # only from the due time read, so two replicas never fire the same one.
                advanced = cast(
                    "CursorResult[Any]",
                    s.execute(
                        update(Schedule)
                        .where(Schedule.id == row.id, Schedule.next_at == row.next_at)
                        .values(next_at=next_time(row.cron, row.timezone, now))
                        .execution_options(synchronize_session=False)
                    ),
                ).rowcount
                if not advanced:
                    continue
                if row.last_run_id is not None:
                    last = s.get(Run, row.last_run_id)
                    if last is not None and last.status not in FINISHED:
                        row.runs_skipped += 1
                        row.last_skipped_at = now
                        log.info("schedule %s skipped: run %s still going", row.id, last.id)
                        continue
                row.runs_started += 1
                starts.append(
                    (
                        row.id,
                        row.user_id,
                        row.tenant_id,
                        row.notebook_id,
                        row.parameters,
                        row.webhook_url,
                    )
                )
        return starts

    def _started(self, schedule_id: str, run_id: str | None) -> None:
        with self.db.session() as s:
            current = s.get(Schedule, schedule_id)
            if current is not None:
                current.last_run_id = run_id

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            await asyncio.sleep(TICK_SECONDS)

    @staticmethod
    def _row(s: Any, tenant_id: int, schedule_id: str) -> Schedule:
        row = s.scalar(
            select(Schedule).where(Schedule.tenant_id == tenant_id, Schedule.id == schedule_id)
        )
        if row is None:
            raise ScheduleNotFound(schedule_id)
        return row
