"""How the frontend reaches execution nodes: the ``Bus`` interface and its in-process form.

``call`` sends a command for a tenant (or to the node that holds a session), passes the events
the node emits to ``on_event`` as they come, and returns the node's one reply. ``broadcast``
sends an event to every other frontend (live pages connected to another replica hear it).
Every message crosses the bus in its encoded form, in-process too, so both implementations
carry the same bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from suricate.wire.messages import Broadcast, Message, decode

log = logging.getLogger(__name__)

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

    def on_broadcast(self, hook: ReportHook) -> None:
        """Have ``hook`` take every ``Broadcast`` other frontends send; set before ``start``."""

    async def broadcast(self, event: Message) -> None:
        """Send an event to every other frontend (none in-process: there is only this one)."""

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

    def on_broadcast(self, hook: ReportHook) -> None:
        return None

    async def broadcast(self, event: Message) -> None:
        return None  # one frontend: it delivered the event to its own pages already

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


class Fanout:
    """Broadcast events to the other frontends in the order they happen, without waiting.

    For live pages only: an event is sent at most once, and dropped when the bus cannot take
    it (the pages reload what they missed).
    """

    def __init__(self, bus: Bus, origin: str) -> None:
        self.bus = bus
        self.origin = origin
        self._outbox: asyncio.Queue[Broadcast] = asyncio.Queue(maxsize=100_000)
        self._sender: asyncio.Task[None] | None = None

    def send(self, topic: str, key: str, payload: dict[str, Any]) -> None:
        """Queue an event for the other frontends (from the event loop's thread)."""
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_forever())
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(Broadcast(topic, key, self.origin, payload))

    def mine(self, message: Message) -> bool:
        """Tell whether a broadcast came from this frontend (it told its own pages already)."""
        return isinstance(message, Broadcast) and message.origin == self.origin

    async def _send_forever(self) -> None:
        while True:
            event = await self._outbox.get()
            try:
                await self.bus.broadcast(event)
            except Exception:
                log.warning("could not broadcast a %s event", event.topic, exc_info=True)

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(BaseException):
                await self._sender
