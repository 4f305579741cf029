"""Processors: processing notebooks deployed on streams, run by execution nodes.

The frontend keeps each processor's record (what it should be doing, its counters, its dead
letters and actions) and places its instances on nodes; the nodes run them and report back.
A supervisor notices an instance whose node is gone and starts it again elsewhere, and after a
restart of the frontend the processors that should run are found again or restarted.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from suricate.domain.auth import SDK_SCOPE, Principal, TokenService
from suricate.domain.notebooks import NotebookService
from suricate.domain.pagination import Page, keyset, page_of
from suricate.domain.streams import StreamService
from suricate.errors import (
    Conflict,
    ExecutionNodeError,
    InvalidInput,
    ProcessorNotFound,
)
from suricate.store.db import Database
from suricate.store.tables import Action, DeadLetter, Processor, Stream, utcnow
from suricate.wire.bus import Bus
from suricate.wire.messages import (
    Done,
    Failed,
    InjectMessages,
    Message,
    ProcessorReport,
    QueryProcessor,
    StartProcessor,
    StopProcessor,
)

log = logging.getLogger(__name__)
STARTING, RUNNING, FAILED, STOPPED = "starting", "running", "failed", "stopped"
SUPERVISE_SECONDS = 2.0
# An instance that has not reported for this long is asked whether it still runs.
SILENT_SECONDS = 20.0
HISTORY = 120  # throughput samples kept for the sparkline (one a second at most)
PLACEMENT_TRIES = 4


@dataclass
class _Instance:
    node: str
    last_report: float = field(default_factory=time.monotonic)
    rate: float = 0.0
    lag: int | None = None
    latency_ms: float | None = None


@dataclass
class _Live:
    """What the frontend knows of a processor it runs, beyond its record."""

    tenant_id: int
    tenant: str
    stream_id: str
    token: str | None  # None when adopted after a frontend restart (a new one is issued)
    replicas: int = 1
    instances: dict[int, _Instance] = field(default_factory=dict)
    history: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    logs: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class ProcessorInfo:
    id: str
    notebook_id: str
    notebook_revision: int
    stream: str
    status: str
    error: dict[str, Any] | None
    batch_size: int
    batch_wait_ms: int
    max_retries: int
    replicas: int
    received: int
    processed: int
    failed: int
    dead_lettered: int
    redelivered: int
    position: int
    restarts: int
    throughput: float
    lag: int | None
    latency_ms: float | None
    nodes: list[str]
    throughput_history: list[tuple[float, float]]
    logs: list[str]
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None


@dataclass(frozen=True)
class ActionInfo:
    id: int
    processor_id: str | None
    text: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class DeadLetterInfo:
    id: str
    processor_id: str
    message_id: str
    body: str | None
    body_b64: str | None
    headers: dict[str, Any]
    error: str
    traceback: str
    attempts: int
    notebook_revision: int
    status: str
    created_at: datetime
    replayed_at: datetime | None


def _action(row: Action) -> ActionInfo:
    return ActionInfo(row.id, row.processor_id, row.text, json.loads(row.data), row.created_at)


def _dead_letter(row: DeadLetter) -> DeadLetterInfo:
    return DeadLetterInfo(
        id=row.id,
        processor_id=row.processor_id,
        message_id=row.message_id,
        body=row.body,
        body_b64=row.body_b64,
        headers=json.loads(row.headers),
        error=row.error,
        traceback=row.traceback,
        attempts=row.attempts,
        notebook_revision=row.notebook_revision,
        status=row.status,
        created_at=row.created_at,
        replayed_at=row.replayed_at,
    )


def _at(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return utcnow()


class ProcessorService:
    """Deploy, follow, stop and restart processors; record their actions and dead letters."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        notebooks: NotebookService,
        streams: StreamService,
        tokens: TokenService,
        principal_of: Any,
    ) -> None:
        self.db = db
        self.bus = bus
        self.notebooks = notebooks
        self.streams = streams
        self.tokens = tokens
        self.principal_of = principal_of
        self._live: dict[str, _Live] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._feeds: set[tuple[int, str | None, asyncio.Queue[ActionInfo]]] = set()
        streams.deliver_local = self._deliver_local

    # Life cycle of the service

    async def start(self) -> None:
        await self._recover()
        self._supervisor = asyncio.create_task(self._supervise_forever())

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(BaseException):
                await self._supervisor
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Deploy, stop, restart

    async def deploy(
        self,
        principal: Principal,
        notebook_id: str,
        stream: str,
        batch_size: int = 100,
        batch_wait_ms: int = 20,
        max_retries: int = 3,
        replicas: int = 1,
    ) -> ProcessorInfo:
        """Record a processor and start its instances in the background (status ``starting``)."""
        notebook = self.notebooks.find(principal.tenant_id, notebook_id)
        stream_info = self.streams.get(principal.tenant_id, stream)
        if stream_info.type == "replay" and replicas != 1:
            raise InvalidInput("a processor on a replay stream runs as one instance (replicas=1)")
        row = Processor(
            id=uuid.uuid4().hex,
            tenant_id=principal.tenant_id,
            notebook_id=notebook.id,
            stream_id=stream_info.id,
            user_id=principal.user_id,
            notebook_revision=notebook.revision,
            batch_size=batch_size,
            batch_wait_ms=batch_wait_ms,
            max_retries=max_retries,
            replicas=replicas,
            status=STARTING,
            nodes="{}",
            created_at=utcnow(),
        )
        with self.db.session() as s:
            s.add(row)
        self._spawn(self._start(principal, row.id))
        return self.get(principal.tenant_id, row.id)

    async def _start(self, principal: Principal, processor_id: str) -> None:
        """Start every instance; the processor runs once all have started."""
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            if row is None or row.status != STARTING:
                return
            stream = s.get(Stream, row.stream_id)
            assert stream is not None
            spec = self.streams.spec(stream)
            replicas, position = row.replicas, row.position
        live = _Live(principal.tenant_id, principal.tenant_name, spec["id"], None, replicas)
        self._live[processor_id] = live
        async with live.busy:
            try:
                token, info = await asyncio.to_thread(
                    self.tokens.create,
                    principal.user_name,
                    f"processor {processor_id[:8]}",
                    None,
                    principal.tenant_id,
                    SDK_SCOPE,
                )
                live.token = token
                self._update(processor_id, token_ref=str(info.id))
                for instance in range(replicas):
                    await self._start_instance(processor_id, live, instance, spec, position)
            except _StartFailed as exc:
                await self._fail(processor_id, exc.error)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("processor %s did not start", processor_id)
                await self._fail(processor_id, {"ename": type(exc).__name__, "evalue": str(exc)})
                return
        self._update(processor_id, status=RUNNING, started_at=utcnow(), error=None)

    async def _start_instance(
        self,
        processor_id: str,
        live: _Live,
        instance: int,
        spec: dict[str, Any],
        position: int,
    ) -> None:
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            assert row is not None
            notebook = self.notebooks.get(row.tenant_id, row.notebook_id, row.notebook_revision)
            assert notebook.content is not None
            cells = [
                "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                for c in notebook.content["cells"]
                if c.get("cell_type") == "code"
            ]
            command = StartProcessor(
                processor_id=processor_id,
                instance=instance,
                tenant=live.tenant,
                token=live.token or "",
                stream=spec,
                cells=cells,
                revision=row.notebook_revision,
                batch_size=row.batch_size,
                batch_wait_ms=row.batch_wait_ms,
                max_retries=row.max_retries,
                position=position,
            )
        for attempt in range(PLACEMENT_TRIES):
            # Instances go to different nodes where there are several (the last try takes any).
            spread = instance > 0 and attempt < PLACEMENT_TRIES - 1
            reply = await self.bus.call(live.tenant, _replace(command, avoid_colocation=spread))
            if isinstance(reply, Done):
                live.instances[instance] = _Instance(reply.node)
                self._record_nodes(processor_id, live)
                return
            if isinstance(reply, Failed) and reply.code == "colocated":
                continue
            raise _StartFailed(self._failure_of(processor_id, reply))
        raise _StartFailed({"ename": "PlacementFailed", "evalue": "no node took the instance"})

    def _failure_of(self, processor_id: str, reply: Message) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            if row is not None and row.error:
                return dict(json.loads(row.error))  # the node reported it in full
        if isinstance(reply, Failed):
            ename, _, evalue = reply.message.partition(": ")
            return {"ename": ename if evalue else reply.code, "evalue": evalue or reply.message}
        return {"ename": "BadReply", "evalue": reply.type}

    def _record_nodes(self, processor_id: str, live: _Live) -> None:
        nodes = {str(i): inst.node for i, inst in live.instances.items()}
        self._update(processor_id, nodes=json.dumps(nodes))

    async def _fail(self, processor_id: str, error: dict[str, Any]) -> None:
        """Mark the processor failed and stop what still runs of it."""
        self._update(processor_id, status=FAILED, error=json.dumps(error), stopped_at=utcnow())
        await self._stop_instances(processor_id)

    async def _stop_instances(self, processor_id: str) -> None:
        live = self._live.pop(processor_id, None)
        if live is not None:
            for node in {i.node for i in live.instances.values()}:
                with contextlib.suppress(Exception):
                    await self.bus.call(live.tenant, StopProcessor(processor_id), node=node)
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            token_ref = row.token_ref if row is not None else None
            tenant_id = row.tenant_id if row is not None else None
            nodes = json.loads(row.nodes) if row is not None else {}
        if live is None and tenant_id is not None and nodes:
            # Adopted nowhere yet (a restart): stop it wherever the record says it ran.
            tenant = await asyncio.to_thread(self._tenant_name, tenant_id)
            for node in set(nodes.values()):
                with contextlib.suppress(Exception):
                    await self.bus.call(tenant, StopProcessor(processor_id), node=node)
        if token_ref:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.tokens.revoke, token_ref)
        self._update(processor_id, nodes="{}", token_ref=None)

    def _tenant_name(self, tenant_id: int) -> str:
        from suricate.store.tables import Tenant

        with self.db.session() as s:
            tenant = s.get(Tenant, tenant_id)
            return tenant.name if tenant is not None else ""

    async def stop(self, tenant_id: int, processor_id: str) -> ProcessorInfo:
        """Stop the processor; its record, actions and dead letters stay."""
        self.get(tenant_id, processor_id)
        self._update(processor_id, status=STOPPED, stopped_at=utcnow())
        await self._stop_instances(processor_id)
        return self.get(tenant_id, processor_id)

    async def restart(self, principal: Principal, processor_id: str) -> ProcessorInfo:
        """Stop it, take the notebook's current revision, and start it again."""
        info = self.get(principal.tenant_id, processor_id)
        await self._stop_instances(processor_id)
        notebook = self.notebooks.find(principal.tenant_id, info.notebook_id)
        self._update(
            processor_id,
            status=STARTING,
            error=None,
            notebook_revision=notebook.revision,
            stopped_at=None,
        )
        self._spawn(self._start(principal, processor_id))
        return self.get(principal.tenant_id, processor_id)

    # Reading

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
        )

    def _update(self, processor_id: str, **values: Any) -> None:
        with self.db.session() as s:
            s.execute(update(Processor).where(Processor.id == processor_id).values(**values))

    # Reports from the nodes

    async def take_report(self, message: Message) -> None:
        """Record a node's report; returns once it is in the database."""
        if not isinstance(message, ProcessorReport):
            log.warning("unexpected report %s", message.type)
            return
        recorded = await asyncio.to_thread(self._record, message)
        if recorded is None:
            return
        tenant_id, actions = recorded
        live = self._live.get(message.processor_id)
        if live is not None:
            instance = live.instances.get(message.instance)
            if instance is not None and instance.node == message.node:
                instance.last_report = time.monotonic()
                instance.rate, instance.lag = message.rate, message.lag
                instance.latency_ms = message.latency_ms
            now = time.time()
            if not live.history or now - live.history[-1][0] >= 1.0:
                rate = sum(i.rate for i in live.instances.values())
                live.history.append((round(now, 3), rate))
            live.logs.extend(message.logs)
            if message.samples:
                self.streams.note(live.stream_id, message.samples)
        if actions:
            self._announce(tenant_id, message.processor_id, actions)
        if message.status == FAILED and message.error is not None:
            current = self._live.get(message.processor_id)
            if current is not None and not current.busy.locked():
                self._spawn(self._fail(message.processor_id, message.error))

    def _record(self, report: ProcessorReport) -> tuple[int, builtins.list[ActionInfo]] | None:
        with self.db.session() as s:
            row = s.get(Processor, report.processor_id)
            if row is None:
                return None
            tenant_id = row.tenant_id
            values: dict[str, Any] = {
                "received": Processor.received + report.received,
                "processed": Processor.processed + report.processed,
                "failed": Processor.failed + report.failed,
                "dead_lettered": Processor.dead_lettered + report.dead_lettered,
                "redelivered": Processor.redelivered + report.redelivered,
            }
            if report.position is not None and report.instance == 0:
                values["position"] = report.position
            if report.status == FAILED and report.error is not None:
                values["error"] = json.dumps(report.error)
            s.execute(update(Processor).where(Processor.id == row.id).values(**values))
            rows = [
                {
                    "tenant_id": tenant_id,
                    "processor_id": row.id,
                    "text": a["text"],
                    "data": json.dumps(a.get("data") or {}),
                    "created_at": _at(a.get("at")),
                }
                for a in report.actions
            ]
            actions: list[Action] = []
            if rows and self._feeds:
                actions = [Action(**r) for r in rows]  # the live feeds want their ids
                s.add_all(actions)
            elif rows:
                s.execute(insert(Action), rows)  # one executemany
            for letter in report.dead_letters:
                self._record_dead_letter(s, row, letter)
            if report.replayed:
                s.execute(
                    update(DeadLetter)
                    .where(DeadLetter.processor_id == row.id, DeadLetter.id.in_(report.replayed))
                    .values(status="replayed", replayed_at=utcnow())
                )
            s.flush()
            return tenant_id, [_action(a) for a in actions] if self._feeds else []

    @staticmethod
    def _record_dead_letter(s: Any, row: Processor, letter: dict[str, Any]) -> None:
        values = {
            "error": letter.get("error", ""),
            "traceback": letter.get("traceback", ""),
            "attempts": int(letter.get("attempts", 0)),
            "notebook_revision": int(letter.get("revision", row.notebook_revision)),
            "status": "dead",
        }
        existing = s.get(DeadLetter, letter["id"]) if letter.get("id") else None
        if existing is not None and existing.processor_id == row.id:
            for key, value in values.items():
                setattr(existing, key, value)  # replayed and failed again
            return
        s.add(
            DeadLetter(
                id=uuid.uuid4().hex,
                tenant_id=row.tenant_id,
                processor_id=row.id,
                message_id=str(letter.get("message_id", ""))[:255],
                body=letter.get("body"),
                body_b64=letter.get("body_b64"),
                headers=json.dumps(letter.get("headers") or {}),
                created_at=utcnow(),
                **values,
            )
        )

    # Supervision and recovery

    async def _supervise_forever(self) -> None:
        while True:
            await asyncio.sleep(SUPERVISE_SECONDS)
            try:
                await self._supervise()
            except Exception:
                log.exception("processor supervision failed")

    async def _supervise(self) -> None:
        alive: dict[str, bool] = {}
        now = time.monotonic()
        for processor_id, live in list(self._live.items()):
            if live.busy.locked():
                continue
            for instance, inst in list(live.instances.items()):
                if inst.node not in alive:
                    alive[inst.node] = await self.bus.node_alive(inst.node)
                lost = not alive[inst.node]
                if not lost and now - inst.last_report > SILENT_SECONDS:
                    reply = await self.bus.call(
                        live.tenant, QueryProcessor(processor_id), node=inst.node
                    )
                    lost = not isinstance(reply, Done)
                    inst.last_report = now
                if lost:
                    log.warning(
                        "processor %s lost instance %d with node %s; starting it again",
                        processor_id,
                        instance,
                        inst.node,
                    )
                    live.instances.pop(instance, None)
                    self._update(processor_id, restarts=Processor.restarts + 1)
            # Every instance that is not running (lost now, or not placed last time) is started.
            missing = [i for i in range(live.replicas) if i not in live.instances]
            if missing:
                # In the background: placing waits for a node, and the sweep goes on meanwhile.
                self._spawn(self._replace_instances(processor_id, live, missing))

    async def _replace_instances(
        self, processor_id: str, live: _Live, missing: builtins.list[int]
    ) -> None:
        for instance in missing:
            await self._replace_instance(processor_id, live, instance)

    async def _replace_instance(self, processor_id: str, live: _Live, instance: int) -> None:
        if live.busy.locked():
            return  # being started or replaced already
        async with live.busy:
            if instance in live.instances or self._live.get(processor_id) is not live:
                return
            with self.db.session() as s:
                row = s.get(Processor, processor_id)
                if row is None or row.status != RUNNING:
                    return
                position = row.position
            spec = self.streams.spec_by_id(live.stream_id)
            if live.token is None:
                token, _ = await asyncio.to_thread(self._new_token, processor_id)
                live.token = token
            try:
                await self._start_instance(processor_id, live, instance, spec, position)
            except _StartFailed as exc:
                await self._fail(processor_id, exc.error)
            except ExecutionNodeError as exc:
                log.warning("processor %s: no node took it yet (%s)", processor_id, exc)

    def _new_token(self, processor_id: str) -> tuple[str, Any]:
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            assert row is not None
            principal = self.principal_of(row.user_id, row.tenant_id)
            old = row.token_ref
        if principal is None:
            raise Conflict("the processor's user is gone")
        token, info = self.tokens.create(
            principal.user_name, f"processor {processor_id[:8]}", None, row.tenant_id, SDK_SCOPE
        )
        self._update(processor_id, token_ref=str(info.id))
        if old:
            with contextlib.suppress(Exception):
                self.tokens.revoke(old)
        return token, info

    async def _recover(self) -> None:
        """At start: adopt processors still running on nodes, start the others again."""
        with self.db.session() as s:
            rows = list(
                s.scalars(select(Processor).where(Processor.status.in_((STARTING, RUNNING))))
            )
            wanted = [
                (r.id, r.tenant_id, r.user_id, r.stream_id, json.loads(r.nodes)) for r in rows
            ]
        for processor_id, tenant_id, user_id, stream_id, nodes in wanted:
            principal = await asyncio.to_thread(self.principal_of, user_id, tenant_id)
            if principal is None:
                await self._fail(processor_id, {"ename": "UserGone", "evalue": "user removed"})
                continue
            live = _Live(tenant_id, principal.tenant_name, stream_id, None)
            for instance, node in nodes.items():
                reply = await self.bus.call(
                    principal.tenant_name, QueryProcessor(processor_id), node=node
                )
                if isinstance(reply, Done):
                    live.instances[int(instance)] = _Instance(node)
            with self.db.session() as s:
                row = s.get(Processor, processor_id)
                replicas = row.replicas if row is not None else 0
            live.replicas = replicas
            if nodes and len(live.instances) == replicas:
                log.info("processor %s still runs on %s", processor_id, ", ".join(nodes.values()))
                self._live[processor_id] = live
                self._update(processor_id, status=RUNNING)
                continue
            log.info("starting processor %s again after a restart", processor_id)
            self._live[processor_id] = live
            await self._stop_instances(processor_id)
            self._update(processor_id, status=STARTING, restarts=Processor.restarts + 1)
            self._spawn(self._start(principal, processor_id))

    # Dead letters and injected messages

    def dead_letters(
        self,
        tenant_id: int,
        processor_id: str,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[DeadLetterInfo]:
        self.get(tenant_id, processor_id)
        with self.db.session() as s:
            query = select(DeadLetter).where(
                DeadLetter.tenant_id == tenant_id, DeadLetter.processor_id == processor_id
            )
            query, limit = keyset(query, DeadLetter.created_at, cursor, limit, descending=True)
            items = [_dead_letter(r) for r in s.scalars(query)]
            return page_of(items, limit, lambda i: i.created_at)

    async def replay_dead_letters(
        self, tenant_id: int, processor_id: str, ids: builtins.list[str] | None = None
    ) -> int:
        """Hand dead letters back to the running processor; each is marked once handled."""
        info = self.get(tenant_id, processor_id)
        live = self._live.get(processor_id)
        if info.status != RUNNING or live is None or 0 not in live.instances:
            raise Conflict("the processor is not running; restart it first")
        with self.db.session() as s:
            query = select(DeadLetter).where(
                DeadLetter.tenant_id == tenant_id,
                DeadLetter.processor_id == processor_id,
                DeadLetter.status != "replayed",
            )
            if ids is not None:
                query = query.where(DeadLetter.id.in_(ids))
            rows = list(s.scalars(query.order_by(DeadLetter.created_at)))
            messages = [
                {
                    "id": r.message_id,
                    "body": r.body,
                    "body_b64": r.body_b64,
                    "headers": json.loads(r.headers),
                    "dead_letter_id": r.id,
                }
                for r in rows
            ]
            for r in rows:
                r.status = "replaying"
        if messages:
            node = live.instances[0].node
            reply = await self.bus.call(
                live.tenant, InjectMessages(processor_id, messages), node=node
            )
            if not isinstance(reply, Done):
                raise Conflict("the processor's node did not take the messages; try again")
        return len(messages)

    async def _deliver_local(self, stream_id: str, sample: dict[str, Any]) -> None:
        """A message published to a replay stream goes to the processors running on it."""
        message = {
            "id": sample["id"],
            "body": sample["body"] if sample["encoding"] == "utf-8" else None,
            "body_b64": sample["body"] if sample["encoding"] == "base64" else None,
            "headers": sample.get("headers") or {},
        }
        for processor_id, live in list(self._live.items()):
            if live.stream_id == stream_id and 0 in live.instances:
                with contextlib.suppress(Exception):
                    await self.bus.call(
                        live.tenant,
                        InjectMessages(processor_id, [message]),
                        node=live.instances[0].node,
                    )

    # Actions

    def create_action(
        self, tenant_id: int, text: str, data: dict[str, Any], processor_id: str | None = None
    ) -> ActionInfo:
        if processor_id is not None:
            self.get(tenant_id, processor_id)
        row = Action(
            tenant_id=tenant_id,
            processor_id=processor_id,
            text=text,
            data=json.dumps(data),
            created_at=utcnow(),
        )
        with self.db.session() as s:
            s.add(row)
            s.flush()
            info = _action(row)
        for t, wanted, queue in list(self._feeds):
            if t == tenant_id and wanted in (None, processor_id):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(info)
        return info

    def actions(
        self,
        tenant_id: int,
        processor_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        newest_first: bool = False,
    ) -> Page[ActionInfo]:
        """Actions oldest first (or newest first); ``since`` keeps those created after it."""
        if processor_id is not None:
            self.get(tenant_id, processor_id)
        with self.db.session() as s:
            query = select(Action).where(Action.tenant_id == tenant_id)
            if processor_id is not None:
                query = query.where(Action.processor_id == processor_id)
            if since is not None:
                query = query.where(Action.created_at > since)
            query, limit = keyset(query, Action.id, cursor, limit, descending=newest_first)
            return page_of([_action(r) for r in s.scalars(query)], limit, lambda i: i.id)

    def subscribe(
        self, tenant_id: int, processor_id: str | None
    ) -> tuple[asyncio.Queue[ActionInfo], Any]:
        """A queue of new actions for a live feed, and the function that ends it."""
        if processor_id is not None:
            self.get(tenant_id, processor_id)
        queue: asyncio.Queue[ActionInfo] = asyncio.Queue(maxsize=1000)
        entry = (tenant_id, processor_id, queue)
        self._feeds.add(entry)
        return queue, lambda: self._feeds.discard(entry)

    def _announce(
        self, tenant_id: int, processor_id: str, actions: builtins.list[ActionInfo]
    ) -> None:
        feeds = [q for t, p, q in self._feeds if t == tenant_id and p in (None, processor_id)]
        for info in actions:
            for queue in feeds:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(info)


class _StartFailed(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("evalue"))
        self.error = error


def _replace(command: StartProcessor, **changes: Any) -> StartProcessor:
    from dataclasses import replace

    return replace(command, **changes)
