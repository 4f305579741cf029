"""Interactive sessions: a user's live kernel on an execution node, driven through the bus.

A session is a row in the database (``kernel_sessions``) naming the node that holds its kernel,
so any frontend replica can drive it, and it outlives the frontend that started it. What only a
frontend knows (the pages showing a session, a cell running through it) stays in that replica's
memory; the events pages hear are delivered to its own pages and broadcast to the other
replicas' over the bus. Culling idle sessions is a singleton duty (the leader's).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from suricate.domain.auth import SDK_SCOPE, Principal, TokenService, new_token
from suricate.domain.notebooks import NotebookService
from suricate.domain.quotas import QuotaService
from suricate.domain.session_state import Session
from suricate.errors import ExecutionNodeError, SessionNotFound
from suricate.store.db import Database
from suricate.store.tables import KernelSession, utcnow
from suricate.wire.bus import Bus, Fanout
from suricate.wire.messages import (
    Broadcast,
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
# A cell trusts a session's row read this lately (tenant and owner never change; its node says
# when its kernel is gone); its activity goes to its row at most this often (exact in memory).
RECHECK_S = 10.0
TOUCH_EVERY_S = 5.0


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
        db: Database | None = None,
        frontend: str = "",
        lasting: bool = False,
    ) -> None:
        self.bus = bus
        self.tokens = tokens
        self.notebooks = notebooks
        self.db: Database = db if db is not None else tokens.db
        self.idle_timeout = idle_timeout
        self.detached_grace = detached_grace if detached_grace is not None else idle_timeout
        self.quotas = quotas
        # This frontend's name: broadcasts it sent come back to it, and are skipped.
        self.frontend = frontend
        # Kernels outlive this frontend (they are on nodes of their own): closing keeps them.
        self.lasting = lasting
        # The sessions this frontend has seen, with what only it knows (pages, running cells).
        self._sessions: dict[str, Session] = {}
        # Sessions being started, counted against the quotas already.
        self._starting: set[_Starting] = set()
        self._culler: asyncio.Task[None] | None = None
        self._fanout = Fanout(bus, frontend)

    async def start(self) -> None:
        """Start culling idle sessions (the leader's duty); forget kernels that died with an
        in-process node."""
        if not self.lasting:
            for token_ref in await asyncio.to_thread(self._forget_all):
                await asyncio.to_thread(self.tokens.revoke, token_ref)
        self.start_culling()

    def start_culling(self) -> None:
        if self._culler is None:
            self._culler = asyncio.create_task(self._cull_forever())

    async def stop_culling(self) -> None:
        culler, self._culler = self._culler, None
        if culler is not None:
            culler.cancel()
            with contextlib.suppress(BaseException):
                await culler

    async def close(self) -> None:
        await self.stop_culling()
        await self._fanout.close()
        if self.lasting:
            return  # the sessions go on: another frontend (or this one again) drives them
        for session in list(self._sessions.values()):
            with contextlib.suppress(Exception):
                await self._stop(session)

    async def take_broadcast(self, message: Any) -> None:
        """Hand an event another frontend sent to this frontend's pages showing its session."""
        if not isinstance(message, Broadcast) or message.topic != "session":
            return
        if self._fanout.mine(message):
            return
        session = self._sessions.get(message.key)
        if session is None:
            return
        event = dict(message.payload)
        if event.get("type") == "status":
            state = event.get("execution_state")
            if state == "busy":
                session.execution_state = "busy"
            elif state in ("idle", "restarted"):
                session.execution_state = "idle"
                session.last_activity = time.monotonic()
        session.deliver(event)

    def _publish(self, session_id: str, event: dict[str, Any]) -> None:
        self._fanout.send("session", session_id, event)

    def of_tenant(self, tenant: str) -> list[Session | _Starting]:
        """Return the tenant's open sessions (runs' too), and those being started."""
        with self.db.session() as s:
            rows = list(s.scalars(select(KernelSession).where(KernelSession.tenant_name == tenant)))
        found: list[Session | _Starting] = [self._of(row) for row in rows]
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
        # The kernel starts with its token; the token's row is written with the session's,
        # in one transaction once it runs (nothing can use the token before that returns).
        token = new_token()
        reply = await self.bus.call(
            principal.tenant_name,
            StartSession(
                session_id, principal.tenant_name, token, limits, user=principal.user_name
            ),
        )
        if not isinstance(reply, Done):
            raise _node_error(reply)
        session = Session(
            id=session_id,
            tenant_id=principal.tenant_id,
            tenant=principal.tenant_name,
            user=principal.user_name,
            notebook_id=notebook_id,
            node=reply.node,
            token_ref="",
            created_at=utcnow(),
            # Its row's activity is its creation, written with it just below.
            touched_at=time.monotonic(),
            kind=kind,
            # A run's outputs reach pages through its record, not through this session.
            fanout=self._publish if kind != "run" else None,
        )
        try:
            await asyncio.to_thread(self._insert, session, token)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self.bus.call(session.tenant, StopSession(session.id), node=session.node)
                )
            raise
        self._sessions[session_id] = session
        return session

    def _insert(self, session: Session, token: str) -> None:
        with self.db.session() as s:
            info = self.tokens.add(
                s,
                token,
                session.user,
                f"session {session.id[:8]}",
                KERNEL_TOKEN_TTL,
                session.tenant_id,
                SDK_SCOPE,
            )
            session.token_ref = str(info.id)
            s.add(
                KernelSession(
                    id=session.id,
                    tenant_id=session.tenant_id,
                    tenant_name=session.tenant,
                    user_name=session.user,
                    notebook_id=session.notebook_id,
                    node=session.node,
                    token_ref=session.token_ref,
                    kind=session.kind,
                    created_at=session.created_at,
                    last_active_at=session.created_at,
                )
            )

    def mark_run(self, session_id: str, run_id: str, revision: int) -> None:
        """Record that the session is a run's kernel (what it logs names the run)."""
        if (session := self._sessions.get(session_id)) is not None:
            session.run_id, session.notebook_revision = run_id, revision
        self._update(session_id, run_id=run_id, notebook_revision=revision)

    def viewed(self, session_id: str, shown: bool) -> None:
        """Record whether a page of this frontend shows the session (the culler's grace)."""
        self._update(session_id, detached_at=None if shown else utcnow())

    def _update(self, session_id: str, **values: Any) -> None:
        with self.db.session() as s:
            s.execute(update(KernelSession).where(KernelSession.id == session_id).values(**values))

    def _forget(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        with self.db.session() as s:
            s.execute(delete(KernelSession).where(KernelSession.id == session_id))

    def _forget_all(self) -> list[str]:
        """Forget every session (their kernels died with the in-process node); their tokens."""
        with self.db.session() as s:
            refs = list(s.scalars(select(KernelSession.token_ref)))
            s.execute(delete(KernelSession))
        return refs

    def _of(self, row: KernelSession) -> Session:
        """The session a row records, with what this frontend knows of it."""
        session = self._sessions.get(row.id)
        if session is None:
            idle = max(0.0, (utcnow() - row.last_active_at).total_seconds())
            session = Session(
                id=row.id,
                tenant_id=row.tenant_id,
                tenant=row.tenant_name,
                user=row.user_name,
                notebook_id=row.notebook_id,
                node=row.node,
                token_ref=row.token_ref,
                created_at=row.created_at,
                kind=row.kind,
                last_activity=time.monotonic() - idle,
                run_id=row.run_id,
                notebook_revision=row.notebook_revision,
                fanout=self._publish if row.kind != "run" else None,
            )
            self._sessions[row.id] = session
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
            # A cell running through another frontend is busy too.
            session.cpu_busy = reply.cpu_busy or reply.busy
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
        token, so a teammate's session is as invisible as another tenant's (404). It reads the
        database (a session started through another frontend is found): use ``find`` in async."""
        with self.db.session() as s:
            row = s.get(KernelSession, session_id)
        if row is None:
            self._sessions.pop(session_id, None)
            raise SessionNotFound(session_id)
        session = self._of(row)
        session.read_at = time.monotonic()
        if not _owns(principal, session):
            raise SessionNotFound(session_id)
        return session

    async def find(self, principal: Principal, session_id: str) -> Session:
        """``get``, off the event loop."""
        return await asyncio.to_thread(self.get, principal, session_id)

    async def lookup(self, principal: Principal, session_id: str) -> Session:
        """``find`` for each cell or message: as read within ``RECHECK_S`` (owner checked)."""
        session = self._sessions.get(session_id)
        if session is None or time.monotonic() - session.read_at > RECHECK_S:
            return await self.find(principal, session_id)
        if not _owns(principal, session):
            raise SessionNotFound(session_id)
        return session

    async def touched(self, session: Session) -> None:
        """Record that the session was used, at most every ``TOUCH_EVERY_S``."""
        if session.last_activity - session.touched_at > TOUCH_EVERY_S:
            session.touched_at = session.last_activity
            await asyncio.to_thread(self._update, session.id, last_active_at=utcnow())

    def list(self, principal: Principal) -> list[Session]:
        """The principal's own sessions in its tenant, oldest first."""
        with self.db.session() as s:
            rows = s.scalars(
                select(KernelSession)
                .where(
                    KernelSession.tenant_id == principal.tenant_id,
                    KernelSession.user_name == principal.user_name,
                )
                .order_by(KernelSession.created_at)
            )
            return [self._of(row) for row in rows]

    def of_token(self, token_id: int | None) -> Session | None:
        """The session whose kernel holds this token (its SDK's), if any."""
        if token_id is None:
            return None
        with self.db.session() as s:
            row = s.scalar(select(KernelSession).where(KernelSession.token_ref == str(token_id)))
        return self._of(row) if row is not None else None

    def open_by_tenant(self) -> dict[str, int]:
        """Count the open sessions (kernels) of each tenant, for the metrics."""
        with self.db.session() as s:
            rows = s.execute(
                select(KernelSession.tenant_name, func.count()).group_by(KernelSession.tenant_name)
            ).all()
        return {tenant: int(count) for tenant, count in rows}

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
        session = await self.lookup(principal, session_id)
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
            raise await self.failure(session, reply)
        await self.touched(session)
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
        session = await self.find(principal, session_id)
        await self._command(session, Interrupt(session_id))

    async def restart(self, principal: Principal, session_id: str) -> None:
        session = await self.find(principal, session_id)
        await self._command(session, Restart(session_id))
        session.publish({"type": "status", "execution_state": "restarted"})

    async def delete(self, principal: Principal, session_id: str) -> None:
        await self._stop(await self.find(principal, session_id))

    async def _command(self, session: Session, command: Message) -> None:
        reply = await self.bus.call(session.tenant, command, node=session.node)
        if not isinstance(reply, Done):
            raise await self.failure(session, reply)

    async def _stop(self, session: Session) -> None:
        await asyncio.to_thread(self._forget, session.id)
        session.publish({"type": "status", "execution_state": "dead"})
        try:
            await self.bus.call(session.tenant, StopSession(session.id), node=session.node)
        finally:
            await asyncio.to_thread(self.tokens.revoke, session.token_ref)

    async def failure(self, session: Session, reply: Message) -> Exception:
        if isinstance(reply, Failed) and reply.code == "session_gone":
            # The node lost the kernel (the node restarted): the session is over.
            await asyncio.to_thread(self._forget, session.id)
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

    def _candidates(self) -> builtins.list[tuple[Session, float | None]]:
        """Every session, and since when no page shows it (monotonic), from the database."""
        now, mono = utcnow(), time.monotonic()
        # Only those known before reading can be gone: one started meanwhile is not in the rows.
        before = builtins.list(self._sessions.items())
        with self.db.session() as s:
            rows = builtins.list(s.scalars(select(KernelSession)))
        known = {row.id for row in rows}
        for gone, session in before:
            if gone not in known and not session.viewers and session.execution_state == "idle":
                self._sessions.pop(gone, None)  # stopped through another frontend
        found = []
        for row in rows:
            session = self._of(row)
            last = mono - max(0.0, (now - row.last_active_at).total_seconds())
            session.last_activity = max(session.last_activity, last)
            detached = None
            if row.detached_at is not None and session.viewers == 0:
                detached = mono - max(0.0, (now - row.detached_at).total_seconds())
            found.append((session, detached))
        return found

    async def _cull_forever(self) -> None:
        while True:
            await asyncio.sleep(
                max(0.5, min(30.0, min(self.idle_timeout, self.detached_grace) / 4))
            )
            try:
                await self._cull()
            except Exception:
                log.exception("culling sessions failed")

    async def _cull(self) -> None:
        for session, detached in await asyncio.to_thread(self._candidates):
            if session.viewers == 0:
                session.detached_at = detached
            if self.lasting and not await self.bus.node_alive(session.node):
                log.info("forgetting session %s: its node %s is gone", session.id, session.node)
                await asyncio.to_thread(self._forget, session.id)
                await asyncio.to_thread(self.tokens.revoke, session.token_ref)
                continue
            if session.cpu_busy and session.execution_state == "idle":
                await self.refresh(session)  # busy by CPU when last asked: is it still?
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
