"""Deploy, stop and restart processors: placing their instances on execution nodes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from suricate.domain.auth import SDK_SCOPE, Principal
from suricate.domain.processors.deadletters import DeadLetters
from suricate.domain.processors.records import (
    FAILED,
    PLACEMENT_TRIES,
    RUNNING,
    STARTING,
    STOPPED,
    ProcessorInfo,
    _Instance,
    _Live,
    _replace,
    _StartFailed,
    error_json,
    error_of,
)
from suricate.domain.quotas import KernelAsk
from suricate.errors import (
    InvalidInput,
)
from suricate.store.tables import Processor, Stream, utcnow
from suricate.wire.messages import (
    Done,
    Failed,
    KernelError,
    KernelLimits,
    Message,
    ShadowSpec,
    StartProcessor,
    StopProcessor,
)
from suricate.wire.streams import StreamSpec

log = logging.getLogger(__name__)


def _shadow_spec(stored: str | None) -> ShadowSpec | None:
    """What a node needs of a processor's shadow: the challenger's model and alias."""
    if not stored:
        return None
    raw = json.loads(stored)
    return ShadowSpec(raw["model"], raw.get("alias", "challenger"))


class Deployment(DeadLetters):
    """Deploy, stop and restart processors: placing their instances on execution nodes."""

    async def deploy(
        self,
        principal: Principal,
        notebook_id: str,
        stream: str,
        batch_size: int = 100,
        batch_wait_ms: int = 20,
        max_retries: int = 3,
        replicas: int = 1,
        kernel: KernelAsk | None = None,
        shadow: str | None = None,
    ) -> ProcessorInfo:
        """Record a processor and start its instances in the background (status ``starting``).

        ``kernel``: each instance's kernel limits, at most the tenant's maxima; ``shadow``: a
        challenger to run in shadow (a ``ShadowConfig`` as JSON).
        """
        kernel = kernel or KernelAsk()
        notebook = await asyncio.to_thread(self.notebooks.find, principal.tenant_id, notebook_id)
        stream_info = await asyncio.to_thread(self.streams.get, principal.tenant_id, stream)
        if stream_info.type == "replay" and replicas != 1:
            raise InvalidInput("a processor on a replay stream runs as one instance (replicas=1)")
        if self.quotas is not None:
            await asyncio.to_thread(self.quotas.check_kernel, principal.tenant_id, kernel)
            await asyncio.to_thread(
                self.quotas.check_processor, principal.tenant_id, principal.tenant_name, replicas
            )
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
            memory_mb=kernel.memory_mb,
            cpus=kernel.cpus,
            status=STARTING,
            nodes="{}",
            shadow=shadow,
            created_at=utcnow(),
        )
        await asyncio.to_thread(self._insert, row)
        self._launch(row.id, self._start(principal, row.id))
        return await asyncio.to_thread(self.get, principal.tenant_id, row.id)

    def _insert(self, row: Processor) -> None:
        with self.db.session() as s:
            s.add(row)

    def _starting(self, processor_id: str) -> tuple[StreamSpec, int, int] | None:
        """The stream, replicas and position of a processor that is starting; else None."""
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            if row is None or row.status != STARTING:
                return None
            stream = s.get(Stream, row.stream_id)
            assert stream is not None
            return self.streams.spec(stream), row.replicas, row.position

    async def _start(self, principal: Principal, processor_id: str) -> None:
        """Start every instance; the processor runs once all have started."""
        starting = await asyncio.to_thread(self._starting, processor_id)
        if starting is None:
            return
        spec, replicas, position = starting
        live = _Live(principal.tenant_id, principal.tenant_name, spec.id, None, replicas)
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
                await asyncio.to_thread(self._update, processor_id, token_ref=str(info.id))
                for instance in range(replicas):
                    await self._start_instance(processor_id, live, instance, spec, position)
            except _StartFailed as exc:
                await self._fail(processor_id, exc.error)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("processor %s did not start", processor_id)
                await self._fail(processor_id, KernelError(type(exc).__name__, str(exc)))
                return
        await asyncio.to_thread(
            self._update, processor_id, status=RUNNING, started_at=utcnow(), error=None
        )

    async def _start_instance(
        self,
        processor_id: str,
        live: _Live,
        instance: int,
        spec: StreamSpec,
        position: int,
    ) -> None:
        command = await asyncio.to_thread(
            self._start_command, processor_id, live, instance, spec, position
        )
        for attempt in range(PLACEMENT_TRIES):
            # Instances go to different nodes where there are several (the last try takes any).
            spread = instance > 0 and attempt < PLACEMENT_TRIES - 1
            reply = await self.bus.call(live.tenant, _replace(command, avoid_colocation=spread))
            if isinstance(reply, Done):
                live.instances[instance] = _Instance(reply.node)
                await asyncio.to_thread(self._record_nodes, processor_id, live)
                return
            if isinstance(reply, Failed) and reply.code == "colocated":
                continue
            raise _StartFailed(await asyncio.to_thread(self._failure_of, processor_id, reply))
        raise _StartFailed(KernelError("PlacementFailed", "no node took the instance"))

    def _start_command(
        self, processor_id: str, live: _Live, instance: int, spec: StreamSpec, position: int
    ) -> StartProcessor:
        """The command that starts one instance: the notebook's code cells at its revision."""
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
            live.shadowed = row.shadow is not None
            return StartProcessor(
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
                limits=(
                    KernelLimits(row.memory_mb, row.cpus) if row.memory_mb or row.cpus else None
                ),
                shadow=_shadow_spec(row.shadow),
            )

    def _failure_of(self, processor_id: str, reply: Message) -> KernelError:
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            if row is not None and row.error:
                return error_of(row.error)  # the node reported it in full
        if isinstance(reply, Failed):
            ename, _, evalue = reply.message.partition(": ")
            return KernelError(ename if evalue else reply.code, evalue or reply.message)
        return KernelError("BadReply", reply.type)

    def _record_nodes(self, processor_id: str, live: _Live) -> None:
        nodes = {str(i): inst.node for i, inst in live.instances.items()}
        self._update(processor_id, nodes=json.dumps(nodes))

    async def _fail(self, processor_id: str, error: KernelError) -> None:
        """Mark the processor failed and stop what still runs of it."""
        await asyncio.to_thread(
            self._update, processor_id, status=FAILED, error=error_json(error), stopped_at=utcnow()
        )
        await self._stop_instances(processor_id)

    async def _stop_instances(self, processor_id: str) -> None:
        live = self._live.pop(processor_id, None)
        if live is not None:
            for node in {i.node for i in live.instances.values()}:
                with contextlib.suppress(Exception):
                    await self.bus.call(live.tenant, StopProcessor(processor_id), node=node)
        token_ref, tenant_id, nodes = await asyncio.to_thread(self._placement, processor_id)
        if live is None and tenant_id is not None and nodes:
            # Adopted nowhere yet (a restart): stop it wherever the record says it ran.
            tenant = await asyncio.to_thread(self._tenant_name, tenant_id)
            for node in set(nodes.values()):
                with contextlib.suppress(Exception):
                    await self.bus.call(tenant, StopProcessor(processor_id), node=node)
        if token_ref:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.tokens.revoke, token_ref)
        await asyncio.to_thread(self._update, processor_id, nodes="{}", token_ref=None)

    def _placement(self, processor_id: str) -> tuple[str | None, int | None, dict[str, str]]:
        """The processor's token, tenant and nodes (instance -> node) as its record has them."""
        with self.db.session() as s:
            row = s.get(Processor, processor_id)
            if row is None:
                return None, None, {}
            return row.token_ref, row.tenant_id, json.loads(row.nodes)

    async def stop(self, tenant_id: int, processor_id: str) -> ProcessorInfo:
        """Stop the processor; its record, actions and dead letters stay."""
        await asyncio.to_thread(self.get, tenant_id, processor_id)
        await asyncio.to_thread(self._update, processor_id, status=STOPPED, stopped_at=utcnow())
        await self._stop_instances(processor_id)
        return await asyncio.to_thread(self.get, tenant_id, processor_id)

    async def restart(self, principal: Principal, processor_id: str) -> ProcessorInfo:
        """Stop it, take the notebook's current revision, and start it again."""
        info = await asyncio.to_thread(self.get, principal.tenant_id, processor_id)
        notebook = await asyncio.to_thread(
            self.notebooks.find, principal.tenant_id, info.notebook_id
        )
        await asyncio.to_thread(
            self._update,
            processor_id,
            status=STARTING,
            error=None,
            notebook_revision=notebook.revision,
            stopped_at=None,
        )
        self._restart_later(principal, processor_id)
        return await asyncio.to_thread(self.get, principal.tenant_id, processor_id)

    def _launch(self, processor_id: str, coro: Any) -> None:
        """Start (or restart) a processor in the background, as its one start under way."""
        task = self._spawn(coro)
        self._starts[processor_id] = task
        task.add_done_callback(
            lambda t: (
                self._starts.pop(processor_id, None)
                if self._starts.get(processor_id) is t
                else None
            )
        )

    def _restart_later(self, principal: Principal, processor_id: str) -> None:
        """Stop what runs of it and start it again, once a start under way has ended (never
        cut short: an instance it placed would be left running, unknown)."""
        earlier = self._starts.get(processor_id)

        async def relaunch() -> None:
            if earlier is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.shield(earlier)
            await self._stop_instances(processor_id)
            await asyncio.to_thread(self._update, processor_id, status=STARTING, error=None)
            await self._start(principal, processor_id)

        self._launch(processor_id, relaunch())
