"""An execution node: hosts the kernels of its tenants' sessions and answers bus commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from suricate.bus import EventHook
from suricate.kernels import Kernel, KernelConfig, KernelDied, KernelPool
from suricate.messages import (
    Done,
    Execute,
    Executed,
    Failed,
    Interrupt,
    Message,
    Output,
    Restart,
    StartSession,
    StopSession,
)
from suricate.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class _Session:
    tenant: str
    token: str
    kernel: Kernel


class ExecNode:
    """Run sessions' kernels; one node may serve many tenants."""

    def __init__(self, config: KernelConfig, warm_per_tenant: int, idle_timeout: float) -> None:
        self.id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.pool = KernelPool(config, warm_per_tenant)
        self.idle_timeout = idle_timeout
        self._sessions: dict[str, _Session] = {}
        self._culler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._culler = asyncio.create_task(self._cull_forever())

    async def close(self) -> None:
        if self._culler is not None:
            self._culler.cancel()
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
        if isinstance(command, StartSession):
            kernel = await self._kernel_for(command.tenant, command.token)
            self._sessions[command.session_id] = _Session(command.tenant, command.token, kernel)
            return Done(self.id)
        session = self._sessions.get(getattr(command, "session_id", ""))
        if session is None:
            return Failed("session_gone", "the session's kernel is no longer running")
        if isinstance(command, Execute):
            return await self._execute(command, session, emit)
        if isinstance(command, Interrupt):
            await session.kernel.interrupt()
            return Done(self.id)
        if isinstance(command, Restart):
            await session.kernel.shutdown()
            session.kernel = await self._kernel_for(session.tenant, session.token)
            return Done(self.id)
        if isinstance(command, StopSession):
            del self._sessions[command.session_id]
            await session.kernel.shutdown()
            return Done(self.id)
        return Failed("unknown_command", f"no handler for {command.type}")

    async def _execute(self, command: Execute, session: _Session, emit: EventHook) -> Message:
        async def on_output(output: dict[str, object]) -> None:
            await emit(Output(command.session_id, dict(output)))

        try:
            result = await session.kernel.execute(command.code, on_output, command.timeout)
        except KernelDied as died:
            log.warning("kernel of session %s died: %s", command.session_id, died)
            await session.kernel.shutdown()
            session.kernel = await self._kernel_for(session.tenant, session.token)
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

    async def _kernel_for(self, tenant: str, token: str) -> Kernel:
        kernel = await self.pool.acquire(tenant)
        # The SDK finds its token in the environment; set it quietly, out of the history.
        await kernel.run_silently(
            f"import os as _os; _os.environ['SURICATE_TOKEN'] = {json.dumps(token)}; del _os"
        )
        return kernel

    async def _cull_forever(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.idle_timeout / 2))
            with contextlib.suppress(Exception):
                await self.pool.cull_idle_tenants(self.idle_timeout)


def build_node(settings: Settings, sdk_socket: Path) -> ExecNode:
    """Build an execution node with the kernel settings (sandbox, limits, pool)."""
    from suricate.sandbox import Limits, describe

    log.info(describe(settings.kernel_sandbox))
    config = KernelConfig(
        limits=Limits(settings.kernel_memory_mb),
        sandbox=settings.kernel_sandbox,
        network=settings.kernel_network,
        hidden=[settings.data_dir.resolve()],
        sdk_socket=sdk_socket,
        exec_timeout=settings.kernel_exec_timeout,
    )
    return ExecNode(config, settings.kernel_pool_size, settings.kernel_idle_timeout)


async def run_node(settings: Settings, tenants: list[str], stop: asyncio.Event) -> None:
    """Run a standalone execution node on RabbitMQ until ``stop`` is set."""
    import shutil
    import tempfile

    from suricate.gateway import proxy_app, serve_unix
    from suricate.gateway import stop as stop_server
    from suricate.rabbitmq import RabbitNodeServer

    assert settings.broker_url, "an execution node needs SURICATE_BROKER_URL"
    sdk_dir = Path(tempfile.mkdtemp(prefix="suricate-node-"))
    gateway = await serve_unix(proxy_app(settings.url), sdk_dir / "api.sock")
    node = build_node(settings, sdk_dir / "api.sock")
    await node.start()
    server = RabbitNodeServer(settings.broker_url, node.id, node.handle, tenants)
    try:
        await server.start()
        await stop.wait()
    finally:
        await server.close()
        await node.close()
        await stop_server(gateway)
        shutil.rmtree(sdk_dir, ignore_errors=True)
