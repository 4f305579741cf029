"""Supervision: silent instances start elsewhere; after a restart, processors recover."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import time
from typing import Any

from sqlalchemy import select

from suricate.domain.auth import SDK_SCOPE
from suricate.domain.processors.records import (
    RUNNING,
    SILENT_SECONDS,
    STARTING,
    SUPERVISE_SECONDS,
    _Instance,
    _Live,
    _StartFailed,
)
from suricate.domain.processors.reports import Reports
from suricate.errors import (
    Conflict,
    ExecutionNodeError,
)
from suricate.store.tables import Processor
from suricate.wire.messages import (
    Done,
    KernelError,
    QueryProcessor,
)

log = logging.getLogger(__name__)


class Supervision(Reports):
    """Supervision: silent instances start elsewhere; after a restart, processors recover."""

    async def _supervise_forever(self) -> None:
        while True:
            await asyncio.sleep(SUPERVISE_SECONDS)
            try:
                if self.replicated:
                    await self._follow_records()
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
                    await asyncio.to_thread(
                        self._update, processor_id, restarts=Processor.restarts + 1
                    )
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
            position = await asyncio.to_thread(self._running_position, processor_id)
            if position is None:
                return
            spec = await asyncio.to_thread(self.streams.spec_by_id, live.stream_id)
            if live.token is None:
                token, _ = await asyncio.to_thread(self._new_token, processor_id)
                live.token = token
            try:
                await self._start_instance(processor_id, live, instance, spec, position)
            except _StartFailed as exc:
                await self._fail(processor_id, exc.error)
            except ExecutionNodeError as exc:
                log.warning("processor %s: no node took it yet (%s)", processor_id, exc)

    def _running_position(self, processor_id: str) -> int | None:
        """Where a running processor is in its stream; None when it is not running."""
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            return row.position if row is not None and row.status == RUNNING else None

    def _wanted(self) -> builtins.list[tuple[str, int, int | None, str, dict[str, str]]]:
        """The processors that should run: id, tenant, user, stream and nodes by instance."""
        with self.db.session() as s:
            rows = s.scalars(select(Processor).where(Processor.status.in_((STARTING, RUNNING))))
            return [(r.id, r.tenant_id, r.user_id, r.stream_id, json.loads(r.nodes)) for r in rows]

    def _replicas(self, processor_id: str) -> int:
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            return row.replicas if row is not None else 0

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

    async def _follow_records(self) -> None:
        """With frontend replicas: supervise what another replica deployed, and forget what
        another one stopped (the records say)."""
        wanted = await asyncio.to_thread(self._wanted)
        ids = {w[0] for w in wanted}
        for processor_id, live in list(self._live.items()):
            if processor_id not in ids and not live.busy.locked():
                self._live.pop(processor_id, None)
        running = await asyncio.to_thread(self._running_ids)
        adopt = [w for w in wanted if w[0] in running and w[0] not in self._live]
        if adopt:
            await self._recover(adopt)

    def _running_ids(self) -> set[str]:
        with self.db.session() as s:
            return set(s.scalars(select(Processor.id).where(Processor.status == RUNNING)))

    async def _recover(
        self, wanted: builtins.list[tuple[str, int, int | None, str, dict[str, str]]] | None = None
    ) -> None:
        """At start: adopt processors still running on nodes, start the others again."""
        if wanted is None:
            wanted = await asyncio.to_thread(self._wanted)
        for processor_id, tenant_id, user_id, stream_id, nodes in wanted:
            principal = await asyncio.to_thread(self.principal_of, user_id, tenant_id)
            if principal is None:
                await self._fail(processor_id, KernelError("UserGone", "user removed"))
                continue
            live = _Live(tenant_id, principal.tenant_name, stream_id, None)
            for instance, node in nodes.items():
                reply = await self.bus.call(
                    principal.tenant_name, QueryProcessor(processor_id), node=node
                )
                if isinstance(reply, Done):
                    live.instances[int(instance)] = _Instance(node)
            replicas = await asyncio.to_thread(self._replicas, processor_id)
            live.replicas = replicas
            if nodes and len(live.instances) == replicas:
                log.info("processor %s still runs on %s", processor_id, ", ".join(nodes.values()))
                self._live[processor_id] = live
                await asyncio.to_thread(self._update, processor_id, status=RUNNING)
                continue
            log.info("starting processor %s again after a restart", processor_id)
            self._live[processor_id] = live
            await self._stop_instances(processor_id)
            await asyncio.to_thread(
                self._update, processor_id, status=STARTING, restarts=Processor.restarts + 1
            )
            self._launch(processor_id, self._start(principal, processor_id))
