"""What every stream source hands out (``Delivery``) and promises (``Source``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from pydantic import JsonValue

from suricate.errors import OutboundRefused, OutboundUnreachable, StreamError
from suricate.outbound import Outbound, host_for_url
from suricate.wire.body import Body
from suricate.wire.messages import StreamMessage

CONNECT_TIMEOUT = 10.0


def unreachable(where: str) -> StreamError:
    """The one error for a broker that cannot be reached, whatever answered (or did not)."""
    return StreamError("stream_unreachable", f"cannot connect to a broker at {where}")


async def checked_address(host: str, port: int, outbound: Outbound) -> str:
    """Resolve a broker's host once and check it with the outbound guard; its address."""
    try:
        return await outbound.resolve(host, port)
    except OutboundRefused as exc:
        raise StreamError(exc.code, exc.message) from None
    except OutboundUnreachable:
        raise unreachable(f"{host}:{port}") from None


async def pinned_uri(uri: str, outbound: Outbound, port: int, tls_port: int) -> tuple[str, str]:
    """The URI with its host replaced by the address the outbound guard checked, and where
    that is (``host:port``) for messages.

    A TLS URI keeps its host name, which the certificate must match: it is checked the same
    way, but the library resolves it again when it connects.
    """
    parts = urlsplit(uri)
    tls = parts.scheme.endswith("s")
    port = parts.port or (tls_port if tls else port)
    host = parts.hostname or ""
    address = await checked_address(host, port, outbound)
    if tls:
        return uri, f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + host_for_url(address) + f":{port}"
    return urlunsplit(parts._replace(netloc=netloc)), f"{host}:{port}"


@dataclass
class Delivery:
    id: str
    body: bytes
    headers: dict[str, JsonValue] = field(default_factory=dict)
    redelivered: bool = False
    timestamp: float | None = None  # when it was published (epoch s), when known
    handle: Any = None  # the source's own reference, for settling
    attempts: int = 0
    dead_letter_id: str | None = None

    @classmethod
    def of(cls, message: StreamMessage) -> Delivery:
        """A message handed to a processor (a dead letter to replay, or one published to a
        replay stream) as a delivery of its own."""
        return cls(
            id=message.id,
            body=message.body.raw(),
            headers=dict(message.headers),
            timestamp=time.time(),
            dead_letter_id=message.dead_letter_id,
        )

    def message(self, stream: str) -> StreamMessage:
        """The typed form a processor's kernel and the frontend take."""
        return StreamMessage(
            id=self.id,
            body=Body.of(self.body),
            headers=self.headers,
            stream=stream,
            redelivered=self.redelivered or self.attempts > 0,
            dead_letter_id=self.dead_letter_id,
            at=self.timestamp,
        )


class Source(Protocol):
    position: int | None
    local_ack: bool  # True when acks settle nothing outside (a replay keeps its own position)

    async def start(self) -> None: ...

    async def take(self, max_n: int, wait_s: float, fill: int | None = None) -> list[Delivery]:
        """Wait for a message, then for ``fill`` in all (``max_n`` when not given) at most
        ``wait_s``; take up to ``max_n`` of those there by then."""
        ...

    async def ack(self, deliveries: list[Delivery]) -> None: ...

    async def release(self, deliveries: list[Delivery]) -> None: ...

    async def lag(self) -> int | None: ...

    async def close(self) -> None: ...


def headers_of(raw: dict[str, Any] | None) -> dict[str, JsonValue]:
    """A broker's message headers as JSON values (bytes decoded, other types as text)."""
    out: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        out[key] = value.decode(errors="replace") if isinstance(value, bytes) else value
        if not isinstance(out[key], str | int | float | bool | type(None) | list | dict):
            out[key] = str(out[key])
    return out


async def gather(
    buffer: asyncio.Queue[Any],
    max_n: int,
    wait_s: float,
    convert: Callable[[Any], Delivery],
    fill: int | None = None,
) -> list[Delivery]:
    """Wait for one item, then for ``fill`` (default ``max_n``) at most ``wait_s``; take up to
    ``max_n`` of those in the buffer by then."""
    out = [convert(await buffer.get())]
    deadline = time.monotonic() + wait_s
    while len(out) < max_n:
        if not buffer.empty():
            out.append(convert(buffer.get_nowait()))
            continue
        if fill is not None and len(out) >= fill:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            out.append(convert(await asyncio.wait_for(buffer.get(), left)))
        except TimeoutError:
            break
    return out
