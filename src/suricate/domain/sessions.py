"""Interactive sessions: a user's live kernel on an execution node, driven through the bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from suricate.domain.auth import SDK_SCOPE, Principal, TokenService
from suricate.domain.notebooks import NotebookService
from suricate.domain.quotas import QuotaService
from suricate.errors import ExecutionNodeError, SessionNotFound
from suricate.store.tables import utcnow
from suricate.wire.bus import Bus
from suricate.wire.messages import (
    Done,
    Execute,
    Executed,
    Failed,
    Interrupt,
    KernelLimits,
    Message,
    Output,
    QuerySession,
    Restart,
    SessionState,
    StartSession,
    StopSession,
)

log = logging.getLogger(__name__)
# A session's SDK token outlives no session; this bounds it should the server die first.
KERNEL_TOKEN_TTL = timedelta(hours=12)
# How long a session's state may take to ask its node.
STATE_TIMEOUT_S = 5.0


@dataclass
class Session:
    id: str
    tenant_id: int
    tenant: str
    user: str
    notebook_id: str | None
    node: str
    token_ref: str
    created_at: datetime
    kind: str = "interactive"  # or "run": a run's kernel
    last_activity: float = field(default_factory=time.monotonic)
    execution_state: str = "idle"
    # No cell runs, yet the kernel's processes use CPU (as its node last said).
    cpu_busy: bool = False
    cpu_seconds: float | None = None
    cpu_cores: float | None = None  # cores its tree used lately, as its node last said
    memory_bytes: int | None = None  # resident memory of its tree, as its node last said
    listeners: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)
    run_id: str | None = None  # the run the session was started for
    notebook_revision: int | None = None  # the revision a run runs
    viewers: int = 0  # pages showing the session now (the editor's WebSocket)
    detached_at: float | None = None  # when the last page showing it closed

    def attach(self, listener: asyncio.Queue[dict[str, Any]]) -> None:
        """A page shows the session: it hears its events, and the session is not detached."""
        self.listeners.add(listener)
        self.viewers += 1
        self.detached_at = None

    def detach(self, listener: asyncio.Queue[dict[str, Any]]) -> None:
        """A page showing the session closed; the last one starts the grace time."""
        self.listeners.discard(listener)
        self.viewers = max(0, self.viewers - 1)
        if self.viewers == 0:
            self.detached_at = time.monotonic()

    @property
    def state(self) -> str:
        """idle, or busy while a cell runs or the kernel keeps using CPU after one."""
        return "busy" if self.execution_state == "busy" or self.cpu_busy else "idle"

    def idle_s(self, now: float | None = None) -> float:
        """Seconds since the session last ran code or its kernel used CPU (0 while busy)."""
        if self.state == "busy":
            return 0.0
        return max(0.0, (now or time.monotonic()) - self.last_activity)

    def publish(self, event: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            with contextlib.suppress(asyncio.QueueFull):
                listener.put_nowait(event)


class SessionService:
    """Start, drive and stop sessions; every lookup is scoped to the caller's tenant."""

    def __init__(
        self,
        bus: Bus,
        tokens: TokenService,
        notebooks: NotebookService,
        idle_timeout: float,
        detached_grace: float | None = None,
        quotas: QuotaService | None = None,
    ) -> None:
        self.bus = bus
        self.tokens = tokens
        self.notebooks = notebooks
        self.idle_timeout = idle_timeout
        self.detached_grace = detached_grace if detached_grace is not None else idle_timeout
        self.quotas = quotas
        self._sessions: dict[str, Session] = {}
        # Sessions being started, counted against the quotas already.
        self._starting: set[_Starting] = set()
        self._culler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._culler = asyncio.create_task(self._cull_forever())

    async def close(self) -> None:
        if self._culler is not None:
            self._culler.cancel()
        for session in list(self._sessions.values()):
            with contextlib.suppress(Exception):
                await self._stop(session)

    def of_tenant(self, tenant: str) -> list[Session | _Starting]:
        """Return the tenant's open sessions (runs' too), and those being started."""
        found: list[Session | _Starting] = [
            s for s in self._sessions.values() if s.tenant == tenant
        ]
        return found + [s for s in self._starting if s.tenant == tenant]

    async def create(
        self,
        principal: Principal,
        notebook_id: str | None = None,
        kind: str = "interactive",
        limits: KernelLimits | None = None,
    ) -> Session:
        """Start a session (a kernel on a node of the tenant) for the principal.

        ``kind`` "run" is a run's kernel: it counts against the tenant's kernels, not the
        user's sessions. ``limits``: the kernel's own, else the node's defaults. Past a quota,
        ``QuotaExceeded``.
        """
        if notebook_id is not None:
            # 404 unless the notebook is the tenant's
            await asyncio.to_thread(self.notebooks.find, principal.tenant_id, notebook_id)
        starting = _Starting(principal.tenant_name, principal.user_name, kind)
        if self.quotas is not None:
            await asyncio.to_thread(
                self.quotas.check_session,
                principal.tenant_id,
                principal.tenant_name,
                principal.user_name,
                kind,
            )
        self._starting.add(starting)
        try:
            return await self._create(principal, notebook_id, kind, limits)
        finally:
            self._starting.discard(starting)

    async def _create(
        self,
        principal: Principal,
        notebook_id: str | None,
        kind: str,
        limits: KernelLimits | None,
    ) -> Session:
        session_id = uuid.uuid4().hex
        token, info = await asyncio.to_thread(
            self.tokens.create,
            principal.user_name,
            f"session {session_id[:8]}",
            KERNEL_TOKEN_TTL,
            principal.tenant_id,
            SDK_SCOPE,
        )
        reply = await self.bus.call(
            principal.tenant_name,
            StartSession(
                session_id, principal.tenant_name, token, limits, user=principal.user_name
            ),
        )
        if not isinstance(reply, Done):
            await asyncio.to_thread(self.tokens.revoke, str(info.id))
            raise _node_error(reply)
        session = Session(
            id=session_id,
            tenant_id=principal.tenant_id,
            tenant=principal.tenant_name,
            user=principal.user_name,
            notebook_id=notebook_id,
            node=reply.node,
            token_ref=str(info.id),
            created_at=utcnow(),
            kind=kind,
        )
        self._sessions[session_id] = session
        return session

    async def refresh(self, session: Session) -> Session:
        """Ask the session's node how its kernel does: busy after its cell returned (CPU
        time from its cgroup), and since when it is really idle."""
        if session.execution_state == "busy":
            return session
        try:
            reply = await asyncio.wait_for(
                self.bus.call(session.tenant, QuerySession(session.id), node=session.node),
                STATE_TIMEOUT_S,
            )
        except (TimeoutError, ExecutionNodeError, OSError):
            return session  # the node is slow or gone: what is known stands
        if isinstance(reply, SessionState):
            shown = session.state
            session.cpu_busy = reply.cpu_busy
            session.cpu_seconds = reply.cpu_seconds
            session.cpu_cores = reply.cpu_cores
            session.memory_bytes = reply.memory_bytes
            if session.execution_state == "idle":
                session.last_activity = max(session.last_activity, time.monotonic() - reply.idle_s)
            if session.state != shown:  # pages showing it hear that its CPU use began or ended
                session.publish({"type": "status", "execution_state": session.state})
        return session

    def get(self, principal: Principal, session_id: str) -> Session:
        """Return one of the principal's own sessions: a kernel runs with its owner's SDK
        token, so a teammate's session is as invisible as another tenant's (404)."""
        session = self._sessions.get(session_id)
        if session is None or not _owns(principal, session):
            raise SessionNotFound(session_id)
        return session

    def list(self, principal: Principal) -> list[Session]:
        """The principal's own sessions in its tenant, oldest first."""
        return sorted(
            (s for s in self._sessions.values() if _owns(principal, s)),
            key=lambda s: s.created_at,
        )

    def of_token(self, token_id: int | None) -> Session | None:
        """The session whose kernel holds this token (its SDK's), if any."""
        if token_id is None:
            return None
        return next((s for s in self._sessions.values() if s.token_ref == str(token_id)), None)

    def open_by_tenant(self) -> dict[str, int]:
        """Count the open sessions (kernels) of each tenant, for the metrics."""
        counts: dict[str, int] = {}
        for session in self._sessions.values():
            counts[session.tenant] = counts.get(session.tenant, 0) + 1
        return counts

    async def execute(
        self,
        principal: Principal,
        session_id: str,
        code: str,
        timeout: float | None = None,
        cell: str | None = None,
    ) -> Executed:
        """Run code in the session's kernel; listeners see outputs as they come, tagged with
        ``cell`` (the caller's name for what runs, such as a notebook cell's id)."""
        session = self.get(principal, session_id)
        session.last_activity = time.monotonic()
        session.execution_state = "busy"
        session.publish({"type": "status", "execution_state": "busy", "cell": cell})

        async def on_event(event: Message) -> None:
            if isinstance(event, Output):
                session.publish({"type": "output", "output": event.output, "cell": cell})

        try:
            reply = await self.bus.call(
                session.tenant, Execute(session_id, code, timeout), on_event, node=session.node
            )
        finally:
            session.execution_state = "idle"
            session.last_activity = time.monotonic()
        if not isinstance(reply, Executed):
            raise self._failure(session, reply)
        result = {
            "type": "result",
            "status": reply.status,
            "execution_count": reply.execution_count,
            "ename": reply.ename,
            "evalue": reply.evalue,
            "cell": cell,
        }
        session.publish(result)
        if reply.restarted:
            session.publish({"type": "status", "execution_state": "restarted"})
        session.publish({"type": "status", "execution_state": "idle"})
        return reply

    async def interrupt(self, principal: Principal, session_id: str) -> None:
        session = self.get(principal, session_id)
        await self._command(session, Interrupt(session_id))

    async def restart(self, principal: Principal, session_id: str) -> None:
        session = self.get(principal, session_id)
        await self._command(session, Restart(session_id))
        session.publish({"type": "status", "execution_state": "restarted"})

    async def delete(self, principal: Principal, session_id: str) -> None:
        await self._stop(self.get(principal, session_id))

    async def _command(self, session: Session, command: Message) -> None:
        reply = await self.bus.call(session.tenant, command, node=session.node)
        if not isinstance(reply, Done):
            raise self._failure(session, reply)

    async def _stop(self, session: Session) -> None:
        self._sessions.pop(session.id, None)
        session.publish({"type": "status", "execution_state": "dead"})
        try:
            await self.bus.call(session.tenant, StopSession(session.id), node=session.node)
        finally:
            await asyncio.to_thread(self.tokens.revoke, session.token_ref)

    def _failure(self, session: Session, reply: Message) -> Exception:
        if isinstance(reply, Failed) and reply.code == "session_gone":
            # The node lost the kernel (the node restarted): the session is over.
            self._sessions.pop(session.id, None)
            return SessionNotFound(session.id)
        return _node_error(reply)

    def _due(self, session: Session, now: float) -> str | None:
        """Why an idle session is to be culled now, or None."""
        if session.state != "idle":
            return None
        if now - session.last_activity > self.idle_timeout:
            return "idle"
        detached = session.detached_at
        if detached is not None and min(now - detached, session.idle_s(now)) > self.detached_grace:
            return "its page closed"
        return None

    async def _cull_forever(self) -> None:
        while True:
            await asyncio.sleep(
                max(0.5, min(30.0, min(self.idle_timeout, self.detached_grace) / 4))
            )
            for session in list(self._sessions.values()):
                if self._due(session, time.monotonic()) is None:
                    continue
                # Idle by its messages: idle by its kernel's CPU use too?
                await self.refresh(session)
                why = self._due(session, time.monotonic())
                if why is not None:
                    log.info("culling session %s of tenant %s: %s", session.id, session.tenant, why)
                    with contextlib.suppress(Exception):
                        await self._stop(session)


@dataclass(frozen=True)
class _Starting:
    """A session being started: it counts against the quotas already."""

    tenant: str
    user: str
    kind: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


def _node_error(reply: Message) -> ExecutionNodeError:
    if isinstance(reply, Failed):
        return ExecutionNodeError(reply.code, reply.message)
    return ExecutionNodeError("bad_reply", f"unexpected reply {reply.type}")


def _owns(principal: Principal, session: Session) -> bool:
    return session.tenant_id == principal.tenant_id and session.user == principal.user_name
