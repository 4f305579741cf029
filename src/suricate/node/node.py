"""An execution node: hosts the kernels of its tenants' sessions and answers bus commands."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suricate.errors import KernelDied, SetupFailed, StreamError
from suricate.node.channels import RequestFailed, relay
from suricate.node.kernels import Kernel, KernelConfig, output_check
from suricate.node.pool import KernelPool
from suricate.node.processor import ProcessorRunner, prefetch
from suricate.node.sandbox import Limits
from suricate.node.sources import (
    AmqpSource,
    Delivery,
    MqttSource,
    Publishers,
    ReplaySource,
    Source,
    check_stream,
    records_from,
)
from suricate.outbound import Outbound
from suricate.settings import Settings, warn_if_root
from suricate.wire.bus import EventHook, ReportHook
from suricate.wire.messages import (
    CheckStream,
    Done,
    Execute,
    Executed,
    Failed,
    InjectMessages,
    Interrupt,
    JsonObject,
    KernelError,
    KernelLimits,
    KernelRequest,
    Message,
    Output,
    ProcessorReport,
    PublishStream,
    QueryProcessor,
    QuerySession,
    Restart,
    SessionState,
    StartProcessor,
    StartSession,
    StopProcessor,
    StopSession,
)
from suricate.wire.records import REPLAY_MAX_BYTES
from suricate.wire.streams import StreamSpec, check_spec

log = logging.getLogger(__name__)
# How often kernels' CPU time is sampled (idle means no cell and no CPU use).
CPU_SAMPLE_S = 2.0


@dataclass
class _Session:
    tenant: str
    token: str
    kernel: Kernel
    limits: Limits | None = None
    user: str = ""


async def _no_report(message: Message) -> None:
    log.warning("no one takes reports on this node; dropped a %s", message.type)


class ExecNode:
    """Run sessions' kernels and processors; one node may serve many tenants."""

    def __init__(
        self,
        config: KernelConfig,
        warm_per_tenant: int,
        idle_timeout: float,
        allowed_hosts: list[str] | None = None,
        outbound: Outbound | None = None,
        replay_max_bytes: int = REPLAY_MAX_BYTES,
    ) -> None:
        self.id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.pool = KernelPool(config, warm_per_tenant)
        self.idle_timeout = idle_timeout
        self.allowed_hosts = allowed_hosts or ["*"]
        # Where processor reports go: set by whoever carries them to the frontend.
        self.report: ReportHook = _no_report
        # Where streams may connect: public addresses, and what the operator allows.
        self.outbound = outbound or Outbound()
        self.replay_max_bytes = replay_max_bytes
        self.publishers = Publishers(self.outbound)
        self._sessions: dict[str, _Session] = {}
        self._processors: dict[str, dict[int, ProcessorRunner]] = {}
        self._culler: asyncio.Task[None] | None = None
        self._sampler: asyncio.Task[None] | None = None
        self._prepared: asyncio.Future[Callable[[Any], Any]] | None = None

    async def start(self) -> None:
        self._culler = asyncio.create_task(self._cull_forever())
        self._sampler = asyncio.create_task(self._sample_forever())
        self._prepared = asyncio.ensure_future(asyncio.to_thread(output_check))

    def figures(self) -> dict[str, int]:
        """Count what the node holds now, for its metrics."""
        warm = sum(len(kernels) for kernels in self.pool._warm.values())
        return {
            "sessions": len(self._sessions),
            "warm_kernels": warm,
            "processor_instances": sum(len(r) for r in self._processors.values()),
        }

    async def close(self) -> None:
        if self._prepared is not None:
            await self._prepared
        if self._culler is not None:
            self._culler.cancel()
        if self._sampler is not None:
            self._sampler.cancel()
        for runners in list(self._processors.values()):
            for runner in list(runners.values()):
                await runner.stop(status="running")  # still wanted: started again elsewhere
        self._processors.clear()
        await self.publishers.close()
        for session in list(self._sessions.values()):
            await session.kernel.shutdown()
        self._sessions.clear()
        await self.pool.close()

    async def handle(self, command: Message, emit: EventHook) -> Message:
        """Carry out one command; never raises (errors become a ``Failed`` reply)."""
        try:
            return await self._handle(command, emit)
        except Exception as exc:
            log.exception("command %s failed", command.type)
            return Failed("node_error", f"{type(exc).__name__}: {exc}")

    async def _handle(self, command: Message, emit: EventHook) -> Message:
        stream_reply = await self._handle_stream(command)
        if stream_reply is not None:
            return stream_reply
        if isinstance(command, StartSession):
            limits = self._limits(command.limits)
            kernel = await self._kernel_for(command.tenant, command.token, limits, command.user)
            self._sessions[command.session_id] = _Session(
                command.tenant, command.token, kernel, limits, command.user
            )
            return Done(self.id)
        session = self._sessions.get(getattr(command, "session_id", ""))
        if session is None:
            return Failed("session_gone", "the session's kernel is no longer running")
        if isinstance(command, Execute):
            return await self._execute(command, session, emit)
        if isinstance(command, KernelRequest):
            return await self._relay(command, session, emit)
        if isinstance(command, Interrupt):
            await session.kernel.interrupt()
            return Done(self.id)
        if isinstance(command, Restart):
            await session.kernel.shutdown()
            session.kernel = await self._kernel_for(
                session.tenant, session.token, session.limits, session.user
            )
            return Done(self.id)
        if isinstance(command, QuerySession):
            kernel = session.kernel
            return SessionState(
                busy=kernel.busy,
                cpu_busy=kernel.busy_after_cell,
                idle_s=0.0 if kernel.busy else time.monotonic() - kernel.last_activity,
                cpu_seconds=kernel.cpu_seconds(),
                cpu_cores=round(kernel.cpu_rate, 3) if kernel.cgroup.available else None,
                memory_bytes=kernel.memory_bytes(),
            )
        if isinstance(command, StopSession):
            del self._sessions[command.session_id]
            await session.kernel.shutdown()
            return Done(self.id)
        return Failed("unknown_command", f"no handler for {command.type}")

    async def _execute(self, command: Execute, session: _Session, emit: EventHook) -> Message:
        async def on_output(output: JsonObject) -> None:
            await emit(Output(command.session_id, output))

        kernel = session.kernel
        try:
            result = await kernel.execute(command.code, on_output, command.timeout)
        except KernelDied as died:
            log.warning("kernel of session %s died: %s", command.session_id, died)
            await kernel.shutdown()
            # A Restart meanwhile has already given the session a fresh kernel: keep that one.
            if session.kernel is kernel:
                session.kernel = await self._kernel_for(
                    session.tenant, session.token, session.limits, session.user
                )
            return Executed(
                status="error",
                outputs=[],
                ename="KernelDied",
                evalue=str(died),
                restarted=True,
            )
        return Executed(
            status=result.status,
            outputs=result.outputs,
            execution_count=result.execution_count,
            ename=result.ename,
            evalue=result.evalue,
            traceback=result.traceback,
        )

    async def _relay(self, command: KernelRequest, session: _Session, emit: EventHook) -> Message:
        """Pass a Jupyter client's message to the kernel; its answers go out as events."""
        kernel = session.kernel
        try:
            await relay(kernel, command, emit, self.pool.config.exec_timeout)
        except RequestFailed as failed:
            return Failed(failed.code, failed.message)
        except KernelDied as died:
            log.warning("kernel of session %s died: %s", command.session_id, died)
            await kernel.shutdown()
            if session.kernel is kernel:  # a Restart meanwhile gave it a fresh one already
                session.kernel = await self._kernel_for(
                    session.tenant, session.token, session.limits
                )
            return Failed("kernel_died", str(died))
        return Done(self.id)

    async def _handle_stream(self, command: Message) -> Message | None:
        """Carry out a stream or processor command; None for any other command."""
        try:
            if isinstance(command, CheckStream):
                self._check_host(command.stream)
                await check_stream(command.stream, self.outbound)
            elif isinstance(command, PublishStream):
                self._check_host(command.stream)
                await self.publishers.publish(
                    command.stream,
                    command.body.raw(),
                    command.headers,
                    command.content_type,
                    command.message_id,
                )
            elif isinstance(command, StartProcessor):
                return await self._start_processor(command)
            elif isinstance(command, StopProcessor):
                for runner in self._processors.pop(command.processor_id, {}).values():
                    await runner.stop()
            elif isinstance(command, QueryProcessor):
                if not self._processors.get(command.processor_id):
                    return Failed("processor_gone", "the processor does not run on this node")
            elif isinstance(command, InjectMessages):
                runners = self._processors.get(command.processor_id)
                if not runners:
                    return Failed("processor_gone", "the processor does not run on this node")
                first = runners[min(runners)]
                first.inject([Delivery.of(m) for m in command.messages])
            else:
                return None
        except StreamError as exc:
            return Failed(exc.code, exc.message)
        return Done(self.id)

    def _check_host(self, spec: StreamSpec) -> None:
        check_spec(spec, self.allowed_hosts)

    async def _start_processor(self, command: StartProcessor) -> Message:
        here = self._processors.setdefault(command.processor_id, {})
        if command.instance in here:
            return Done(self.id)  # already running (a repeated start)
        if here and command.avoid_colocation:
            return Failed("colocated", "this node already runs an instance of the processor")
        self._check_host(command.stream)
        runner = ProcessorRunner(
            command,
            self.id,
            lambda: self._kernel_for(command.tenant, command.token, self._limits(command.limits)),
            self._source(command),
            self._report,
            self.pool.config.exec_timeout,
        )
        here[command.instance] = runner
        try:
            await runner.start()
        except (SetupFailed, StreamError) as exc:
            here.pop(command.instance, None)
            if isinstance(exc, SetupFailed):
                error = KernelError(exc.ename, exc.evalue, exc.traceback, exc.cell)
            else:
                error = KernelError("StreamError", exc.message)
            await self.report(
                ProcessorReport(
                    command.processor_id, self.id, command.instance, status="failed", error=error
                )
            )
            return Failed(exc.code, f"{error.ename}: {error.evalue}")
        except BaseException:
            here.pop(command.instance, None)
            raise
        return Done(self.id)

    async def _report(self, message: Message) -> None:
        if isinstance(message, ProcessorReport) and message.status == "failed":
            # A processor that failed while running leaves the node.
            runners = self._processors.get(message.processor_id, {})
            runner = runners.pop(message.instance, None)
            if runner is not None:
                asyncio.get_running_loop().call_soon(
                    lambda: asyncio.ensure_future(runner.stop(status="failed"))
                )
        await self.report(message)

    def _source(self, command: StartProcessor) -> Source:
        spec = command.stream
        if spec.type == "amqp":
            return AmqpSource(
                spec, command.processor_id, prefetch(command.batch_size), self.outbound
            )
        if spec.type == "mqtt":
            return MqttSource(
                spec, f"suricate-{command.processor_id}-{command.instance}", self.outbound
            )

        async def load() -> list[object]:
            return await asyncio.to_thread(
                _load_records,
                self.pool.config.sdk_socket,
                command.token,
                spec.object or "",
                self.replay_max_bytes,
            )

        return ReplaySource(spec, load, command.position)

    def _limits(self, asked: KernelLimits | None) -> Limits | None:
        """Return the limits of a kernel that asked for its own (None: the defaults)."""
        if asked is None:
            return None
        defaults = self.pool.config.limits
        return dataclasses.replace(
            defaults,
            memory_mb=asked.memory_mb or defaults.memory_mb,
            cpus=asked.cpus or defaults.cpus,
        )

    async def _kernel_for(
        self, tenant: str, token: str, limits: Limits | None = None, user: str = ""
    ) -> Kernel:
        """A kernel for the tenant (forked from the user's template when ``user`` is given:
        interactive sessions are private to their user), with the session's SDK token."""
        # The SDK finds its token in the environment: a new kernel has it from its start; a
        # warm one gets it quietly, out of the history.
        kernel = await self.pool.acquire(tenant, limits, user, {"SURICATE_TOKEN": token})
        if kernel.extra_env.get("SURICATE_TOKEN") != token:
            await kernel.run_silently(
                f"import os as _os; _os.environ['SURICATE_TOKEN'] = {json.dumps(token)}; del _os"
            )
        return kernel

    async def _sample_forever(self) -> None:
        """Sample each kernel's CPU time: a kernel busy after its cell returned is not idle."""
        while True:
            await asyncio.sleep(CPU_SAMPLE_S)
            for kernel in self.pool.kernels():
                with contextlib.suppress(OSError, ValueError):
                    kernel.sample_cpu()

    async def _cull_forever(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.idle_timeout / 2))
            with contextlib.suppress(Exception):
                await self.pool.cull_idle_tenants(self.idle_timeout)


def _load_records(
    sdk_socket: Path | None, token: str, name: str, max_bytes: int = REPLAY_MAX_BYTES
) -> list[object]:
    """Read a replay stream's object through the API, as the processor's own SDK would."""
    import httpx

    from suricate.kernel.client import ApiError, Client

    client = (
        Client("http://suricate", token, uds=str(sdk_socket))
        if sdk_socket is not None
        else Client("http://127.0.0.1:8888", token)
    )
    try:
        meta = client.get_object(name)
        # Not even downloaded when the stored bytes are past the limit.
        if int(meta.get("size") or 0) > max_bytes:
            raise StreamError(
                "bad_object",
                f"{name!r} is larger than {max_bytes} bytes, the most a replay reads "
                "(SURICATE_REPLAY_MAX_BYTES)",
            )
        data = client.open(name)
    except (ApiError, httpx.HTTPError) as exc:
        raise StreamError("bad_object", f"cannot read object {name!r}: {exc}") from None
    finally:
        client.close()
    return records_from(data, name, meta.get("content_type"), max_bytes)


def build_node(settings: Settings, sdk_socket: Path) -> ExecNode:
    """Build an execution node with the kernel settings (sandbox, limits, pool).

    Clears first what nodes that are gone left behind (runtime dirs, mounts, cgroups, sockets);
    raises ``SandboxUnavailable`` when kernels cannot be sandboxed as the settings ask.
    """
    from suricate.node import sandbox

    for leftover in sandbox.clear_leftovers():
        log.warning("removed %s, left by a node that is gone", leftover)
    limits = kernel_limits(settings)
    plan = sandbox.prepare(settings.kernel_sandbox, settings.kernel_uid, limits)
    for note in plan.notes:
        log.warning("%s", note)
    log.info(sandbox.describe(plan))
    sandbox.share_socket(sdk_socket, plan.gid)
    config = KernelConfig(
        limits=limits,
        plan=plan,
        network=settings.kernel_network,
        hidden=[settings.data_dir.resolve()],
        sdk_socket=sdk_socket,
        exec_timeout=settings.kernel_exec_timeout,
        dask_scheduler=settings.dask_scheduler,
        fork=settings.kernel_fork,
    )
    return ExecNode(
        config,
        settings.kernel_pool_size,
        settings.kernel_idle_timeout,
        settings.stream_allowed_hosts_list,
        Outbound(settings.outbound_allowed_list),
        settings.replay_max_bytes,
    )


def kernel_limits(settings: Settings) -> Limits:
    """Return the default limits of a kernel, from the settings."""
    return Limits(
        memory_mb=settings.kernel_memory_mb,
        cpus=settings.kernel_cpus,
        pids=settings.kernel_pids,
        scratch_mb=settings.kernel_scratch_mb,
    )


async def run_node(settings: Settings, tenants: list[str], stop: asyncio.Event) -> None:
    """Run a standalone execution node on RabbitMQ until ``stop`` is set."""
    import shutil

    from suricate.node.gateway import proxy_app, serve_unix
    from suricate.node.gateway import stop as stop_server
    from suricate.node.sandbox import make_socket_dir
    from suricate.wire.rabbitmq import RabbitNodeServer

    assert settings.broker_url, "an execution node needs SURICATE_BROKER_URL"
    warn_if_root()
    sdk_dir = make_socket_dir("suricate-node-")
    gateway = await serve_unix(proxy_app(settings.url), sdk_dir / "api.sock")
    node = build_node(settings, sdk_dir / "api.sock")
    await node.start()
    server = RabbitNodeServer(settings.broker_url, node.id, node.handle, tenants)
    node.report = server.report
    health = None
    try:
        await server.start()
        if settings.node_health_port:
            from suricate.node.health import serve_health

            health = await serve_health(node, server, settings.node_health_port)
        await stop.wait()
    finally:
        if health is not None:
            await health.stop()
        # The node first: its processors send their last reports over the server's connection.
        await node.close()
        await server.close()
        await stop_server(gateway)
        await asyncio.to_thread(shutil.rmtree, sdk_dir, True)
