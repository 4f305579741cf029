"""A Jupyter client's messages passed to a session's kernel, and its answers back (the
``/jupyter`` channels; see docs/jupyter.md)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from suricate.domain.auth import Principal
from suricate.domain.sessions import SessionService
from suricate.wire.messages import Done, KernelMessage, KernelRequest, Message


async def relay(
    sessions: SessionService,
    principal: Principal,
    session_id: str,
    channel: str,
    message: dict[str, Any],
    on_message: Callable[[str, dict[str, Any]], Awaitable[None]],
    max_bytes: int,
) -> None:
    """Pass a Jupyter client's message (shell or control) to the session's kernel;
    ``on_message(channel, message)`` hears each of the kernel's answers to it. The session
    is busy while an execute_request runs."""
    session = await sessions.lookup(principal, session_id)
    header = message.get("header")
    executes = isinstance(header, dict) and header.get("msg_type") == "execute_request"
    session.last_activity = time.monotonic()
    if executes:
        session.execution_state = "busy"

    async def on_event(event: Message) -> None:
        if isinstance(event, KernelMessage):
            await on_message(event.channel, event.message)

    command = KernelRequest(session_id, channel, message, max_bytes=max_bytes)
    try:
        reply = await sessions.bus.call(session.tenant, command, on_event, node=session.node)
    finally:
        if executes:
            session.execution_state = "idle"
        session.last_activity = time.monotonic()
    await sessions.touched(session)
    if not isinstance(reply, Done):
        raise await sessions.failure(session, reply)
