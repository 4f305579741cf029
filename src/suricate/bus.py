"""How the frontend reaches execution nodes: the ``Bus`` interface and its in-process form.

``call`` sends a command for a tenant (or to the node that holds a session), passes the events
the node emits to ``on_event`` as they come, and returns the node's one reply. Every message
crosses the bus in its encoded form, in-process too, so both implementations carry the same bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from suricate.messages import Message, decode

EventHook = Callable[[Message], Awaitable[None]]
Handler = Callable[[Message, EventHook], Awaitable[Message]]


class Bus(Protocol):
    async def start(self) -> None: ...

    async def call(
        self,
        tenant: str,
        command: Message,
        on_event: EventHook | None = None,
        node: str | None = None,
    ) -> Message: ...

    async def close(self) -> None: ...


class InProcessBus:
    """The embedded default: the execution node runs in the server's own event loop."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

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
