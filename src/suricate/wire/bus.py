"""How the frontend reaches execution nodes: the ``Bus`` interface and its in-process form.

``call`` sends a command for a tenant (or to the node that holds a session), passes the events
the node emits to ``on_event`` as they come, and returns the node's one reply. Every message
crosses the bus in its encoded form, in-process too, so both implementations carry the same bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from suricate.wire.messages import Message, decode

EventHook = Callable[[Message], Awaitable[None]]
Handler = Callable[[Message, EventHook], Awaitable[Message]]
# Reports flow from nodes to the frontend outside any command (what processors did).
ReportHook = Callable[[Message], Awaitable[None]]


class Bus(Protocol):
    async def start(self) -> None: ...

    async def call(
        self,
        tenant: str,
        command: Message,
        on_event: EventHook | None = None,
        node: str | None = None,
    ) -> Message: ...

    def on_report(self, hook: ReportHook) -> None:
        """Have the frontend's ``hook`` take every report; set before ``start``."""

    async def node_alive(self, node: str) -> bool: ...

    def connected(self) -> bool:
        """Tell whether commands can be sent now (for readiness)."""
        ...

    async def close(self) -> None: ...


class InProcessBus:
    """The embedded default: the execution node runs in the server's own event loop."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._on_report: ReportHook | None = None

    def on_report(self, hook: ReportHook) -> None:
        self._on_report = hook

    async def report(self, message: Message) -> None:
        """The node's side: hand a report over; returns once the frontend has taken it."""
        if self._on_report is not None:
            await self._on_report(decode(message.encode()))

    async def node_alive(self, node: str) -> bool:
        return True

    def connected(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def call(
        self,
        tenant: str,
        command: Message,
        on_event: EventHook | None = None,
        node: str | None = None,
    ) -> Message:
        async def emit(event: Message) -> None:
            if on_event is not None:
                await on_event(decode(event.encode()))

        reply = await self._handler(decode(command.encode()), emit)
        return decode(reply.encode())

    async def close(self) -> None:
        return None
