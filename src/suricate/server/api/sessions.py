"""Routes for interactive sessions, and their WebSocket of live outputs."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field

from suricate.domain.auth import Principal
from suricate.domain.sessions import Session
from suricate.errors import SuricateError
from suricate.server.api.deps import (
    SESSION_COOKIE,
    TENANT_COOKIE,
    PlatformDep,
    PrincipalDep,
    authenticate,
    same_origin,
)
from suricate.server.api.schemas import MAX_SECONDS, ErrorOut

router = APIRouter(tags=["sessions"])
CPU_FOLLOW_S = 2.0  # as often as nodes sample their kernels' CPU time
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 422, 503)
}


class SessionCreate(BaseModel):
    notebook_id: str | None = Field(default=None, description="The notebook the session is for.")


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    notebook_id: str | None
    user: str = Field(description="Whose session it is: only they see it.")
    execution_state: str = Field(
        description=(
            "idle or busy: busy while a cell runs, and while the kernel's processes keep using "
            "CPU after it returned (a thread, a child process)"
        ),
    )
    created_at: datetime
    node: str = Field(description="The execution node holding the kernel.")
    idle_s: float = Field(
        description="Seconds since the kernel last ran code or used CPU (0 while busy)."
    )
    viewers: int = Field(description="Pages showing the session now (the notebook editor).")
    cpu_seconds: float | None = Field(
        default=None,
        description="CPU time the kernel's whole process tree used so far (None: not measured).",
    )
    cpu_percent: float | None = Field(
        default=None, description="CPU the kernel's tree used lately, in % of one core."
    )
    memory_bytes: int | None = Field(
        default=None, description="Resident memory of the kernel's whole process tree."
    )

    @classmethod
    def of(cls, session: Session) -> SessionOut:
        cores = session.cpu_cores
        return cls(
            id=session.id,
            notebook_id=session.notebook_id,
            user=session.user,
            execution_state=session.state,
            created_at=session.created_at,
            node=session.node,
            idle_s=round(session.idle_s(), 1),
            viewers=session.viewers,
            cpu_seconds=session.cpu_seconds,
            cpu_percent=round(cores * 100, 1) if cores is not None else None,
            memory_bytes=session.memory_bytes,
        )


class SessionPage(BaseModel):
    items: list[SessionOut]
    next: str | None = None


class ExecuteIn(BaseModel):
    code: str
    timeout: float | None = Field(
        default=None,
        gt=0,
        le=MAX_SECONDS,
        allow_inf_nan=False,
        description="Seconds before the cell is interrupted.",
    )


class ExecuteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: str = Field(description="ok or error")
    outputs: list[dict[str, Any]] = Field(description="nbformat v4 outputs, in order.")
    execution_count: int | None = None
    ename: str | None = None
    evalue: str | None = None
    traceback: list[str] = []


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    responses={**_ERRORS, 429: {"model": ErrorOut}},
)
async def create_session(
    platform: PlatformDep, principal: PrincipalDep, body: SessionCreate | None = None
) -> SessionOut:
    """Start an interactive session: a kernel of the tenant, forked from the user's template
    (or, with forking off, from the warm pool); 429 `quota_exceeded` past the user's sessions
    or the tenant's kernels."""
    session = await platform.sessions.create(principal, body.notebook_id if body else None)
    return SessionOut.of(session)


@router.get("/sessions", response_model=SessionPage, responses=_ERRORS)
async def list_sessions(platform: PlatformDep, principal: PrincipalDep) -> SessionPage:
    """List the tenant's running sessions (one page: sessions are few)."""
    sessions = await asyncio.to_thread(platform.sessions.list, principal)
    await asyncio.gather(*(platform.sessions.refresh(s) for s in sessions))
    return SessionPage(items=[SessionOut.of(s) for s in sessions])


@router.get("/sessions/{session_id}", response_model=SessionOut, responses=_ERRORS)
async def get_session(
    session_id: str, platform: PlatformDep, principal: PrincipalDep
) -> SessionOut:
    """Show a session and whether its kernel is busy (a cell runs, or its processes use CPU)."""
    session = await platform.sessions.refresh(await platform.sessions.find(principal, session_id))
    return SessionOut.of(session)


@router.post("/sessions/{session_id}/execute", response_model=ExecuteOut, responses=_ERRORS)
async def execute(
    session_id: str, body: ExecuteIn, platform: PlatformDep, principal: PrincipalDep
) -> ExecuteOut:
    """Run code in the session's kernel and return its outputs (nbformat v4)."""
    reply = await platform.sessions.execute(principal, session_id, body.code, body.timeout)
    return ExecuteOut.model_validate(reply)


@router.post("/sessions/{session_id}/interrupt", status_code=204, responses=_ERRORS)
async def interrupt(session_id: str, platform: PlatformDep, principal: PrincipalDep) -> Response:
    """Interrupt the running cell."""
    await platform.sessions.interrupt(principal, session_id)
    return Response(status_code=204)


@router.post("/sessions/{session_id}/restart", status_code=204, responses=_ERRORS)
async def restart(session_id: str, platform: PlatformDep, principal: PrincipalDep) -> Response:
    """Replace the session's kernel with a fresh one (variables are lost)."""
    await platform.sessions.restart(principal, session_id)
    return Response(status_code=204)


@router.delete("/sessions/{session_id}", status_code=204, responses=_ERRORS)
async def delete_session(
    session_id: str, platform: PlatformDep, principal: PrincipalDep
) -> Response:
    """Stop the session and its kernel."""
    await platform.sessions.delete(principal, session_id)
    return Response(status_code=204)


@router.websocket("/sessions/{session_id}/ws")
async def session_socket(
    websocket: WebSocket,
    session_id: str,
    token: Annotated[str | None, Query(description="API token, for browsers")] = None,
) -> None:
    """Stream a session's events; accept {"type": "execute", "code": ..., "cell": ...} to run
    code and {"type": "interrupt"}.

    Events: {"type": "status", "execution_state"}, {"type": "output", "output"},
    {"type": "result", "status", "execution_count", "ename", "evalue"}, {"type": "error", ...};
    those of an execution carry the "cell" it was sent with.
    """
    platform = websocket.app.state.platform
    header = websocket.headers.get("authorization", "")
    secret = token or (header[7:] if header.lower().startswith("bearer ") else "")
    tenant = websocket.headers.get("x-suricate-tenant")
    if not secret and (cookie := websocket.cookies.get(SESSION_COOKIE)):
        # A browser session: only pages of this server may open it (no cross-site hijacking).
        if not same_origin(websocket.headers.get("origin"), websocket.headers.get("host")):
            await websocket.close(code=4403, reason="cross-origin WebSocket refused")
            return
        secret, tenant = cookie, tenant or websocket.cookies.get(TENANT_COOKIE)
    try:
        principal = await authenticate(platform, secret, tenant, "WEBSOCKET", websocket.url.path)
        session = await platform.sessions.find(principal, session_id)
    except SuricateError as exc:
        await websocket.close(
            code=4404 if exc.code.endswith("not_found") else 4401, reason=exc.message[:120]
        )
        return
    await websocket.accept()
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)
    session.attach(events)
    await asyncio.to_thread(platform.sessions.viewed, session.id, True)
    sender = asyncio.create_task(_send(websocket, events))
    follower = asyncio.create_task(_follow_cpu(platform, session))
    running: set[asyncio.Task[None]] = set()
    try:
        await platform.sessions.refresh(session)  # what is known may be a while old
        await websocket.send_json({"type": "status", "execution_state": session.state})
        while True:
            message = await websocket.receive_json()
            if message.get("type") == "execute" and isinstance(message.get("code"), str):
                task = asyncio.create_task(_run(platform, principal, session_id, message, events))
                running.add(task)
                task.add_done_callback(running.discard)
            elif message.get("type") == "interrupt":
                await platform.sessions.interrupt(principal, session_id)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        session.detach(events)
        sender.cancel()
        follower.cancel()
        if session.viewers == 0:  # the culler's grace starts, whichever frontend culls
            # Shielded: a handler cancelled as its page goes (the test client does so) would
            # skip the write, and the session of a closed page would never be culled.
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.to_thread(platform.sessions.viewed, session.id, False))


async def _follow_cpu(platform: Any, session: Session) -> None:
    """While a page shows the session, ask its node every few seconds whether the kernel uses
    CPU between cells (a thread, a child): a change reaches the page as a status event."""
    with contextlib.suppress(Exception):
        for beat in itertools.count(1):
            await asyncio.sleep(CPU_FOLLOW_S)
            await platform.sessions.refresh(session)
            if beat % 15 == 0:  # shown here, whatever a page closed on another frontend said
                await asyncio.to_thread(platform.sessions.viewed, session.id, True)


async def _send(websocket: WebSocket, events: asyncio.Queue[dict[str, Any]]) -> None:
    with contextlib.suppress(Exception):
        while True:
            await websocket.send_json(await events.get())


async def _run(
    platform: Any,
    principal: Principal,
    session_id: str,
    message: dict[str, Any],
    events: asyncio.Queue[dict[str, Any]],
) -> None:
    try:
        await platform.sessions.execute(principal, session_id, message["code"], cell=_cell(message))
    except SuricateError as exc:
        events.put_nowait(
            {"type": "error", "code": exc.code, "message": exc.message, "cell": _cell(message)}
        )


def _cell(message: dict[str, Any]) -> str | None:
    cell = message.get("cell")
    return cell if isinstance(cell, str) else None
