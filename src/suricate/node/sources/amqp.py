"""AMQP 0-9-1 streams (RabbitMQ), with aio-pika: consume with manual acks, publish, check."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from suricate.errors import StreamError
from suricate.node.sources.base import (
    CONNECT_TIMEOUT,
    Delivery,
    gather,
    headers_of,
    pinned_uri,
    unreachable,
)
from suricate.outbound import Outbound
from suricate.wire.streams import StreamSpec

log = logging.getLogger(__name__)


async def amqp_connect(uri: str, outbound: Outbound, robust: bool = True) -> Any:
    """Connect to an AMQP broker at an address the outbound guard checked.

    Whatever goes wrong before the AMQP session is open (refused, silence, another protocol,
    credentials refused) is the same ``stream_unreachable`` for the user; the log has it.
    """
    import aio_pika

    pinned, where = await pinned_uri(uri, outbound, 5672, 5671)
    connect = aio_pika.connect_robust if robust else aio_pika.connect
    try:
        return await asyncio.wait_for(connect(pinned, timeout=CONNECT_TIMEOUT), CONNECT_TIMEOUT + 5)
    except Exception as exc:
        log.warning("AMQP connection to %s failed: %s: %s", where, type(exc).__name__, exc)
        raise unreachable(where) from None


async def amqp_queue(connection: Any, spec: StreamSpec, consumer: str | None) -> Any:
    """Return the queue to read (the stream's own, or one bound to its exchange) and its channel."""
    import aio_pika

    exchange = None
    if spec.exchange:
        probe = await connection.channel()
        try:
            exchange = await probe.get_exchange(spec.exchange, ensure=True)
        except aio_pika.exceptions.ChannelClosed:
            raise StreamError(
                "stream_unreachable", f"the broker has no exchange {spec.exchange!r}"
            ) from None
    channel = await connection.channel()
    name = spec.queue or (f"suricate.processor.{consumer}" if consumer else None)
    if name is None:
        return None, channel
    try:
        queue = await channel.declare_queue(name, durable=True)
    except aio_pika.exceptions.ChannelClosed as exc:
        # It exists with other arguments: use it as it is.
        if "PRECONDITION_FAILED" not in str(exc):
            raise StreamError("stream_unreachable", f"queue {name!r}: {exc}") from None
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
    if exchange is not None:
        await queue.bind(spec.exchange, routing_key=spec.routing_key or "#")
    return queue, channel


@dataclass(frozen=True)
class _Received:
    """An AMQP message and the channel it came on (the key its delivery tag belongs to)."""

    channel: int
    message: Any


class AmqpSource:
    """Consume a queue with manual acks; one multi-message ack where the order allows."""

    def __init__(self, spec: StreamSpec, consumer: str, prefetch: int, outbound: Outbound) -> None:
        self.spec = spec
        self.outbound = outbound
        self.consumer = consumer
        self.prefetch = prefetch
        self.position: int | None = None
        self.local_ack = False
        self._buffer: asyncio.Queue[Any] = asyncio.Queue()
        self._unsettled: dict[int, set[int]] = {}
        self._connection: Any = None

    async def start(self) -> None:
        self._connection = await amqp_connect(self.spec.broker_uri, self.outbound)
        try:
            queue, channel = await amqp_queue(self._connection, self.spec, self.consumer)
            await channel.set_qos(prefetch_count=self.prefetch)
            self._queue = queue
            await queue.consume(self._on_message)
        except BaseException:
            await self.close()
            raise

    def _on_message(self, incoming: Any) -> None:
        # A plain function, not a coroutine: aio-pika then calls it without a task of its own
        # for each message. The channel is named now, while it is open: once a connection is
        # lost, asking a message for its channel raises.
        channel = id(incoming.channel)
        self._unsettled.setdefault(channel, set()).add(incoming.delivery_tag)
        self._buffer.put_nowait(_Received(channel, incoming))

    def _delivery(self, received: _Received) -> Delivery:
        incoming = received.message
        stamp = incoming.timestamp
        return Delivery(
            id=incoming.message_id or str(incoming.delivery_tag),
            body=incoming.body,
            headers=headers_of(incoming.headers),
            redelivered=bool(incoming.redelivered),
            timestamp=stamp.timestamp() if stamp is not None else None,
            handle=received,
        )

    async def take(self, max_n: int, wait_s: float, fill: int | None = None) -> list[Delivery]:
        return await gather(self._buffer, max_n, wait_s, self._delivery, fill)

    async def ack(self, deliveries: list[Delivery]) -> None:
        by_channel: dict[int, list[Any]] = {}
        for d in deliveries:
            if d.handle is not None:
                by_channel.setdefault(d.handle.channel, []).append(d.handle.message)
        for key, handles in by_channel.items():
            unsettled = self._unsettled.get(key, set())
            tags = {h.delivery_tag for h in handles}
            unsettled -= tags
            top = max(handles, key=lambda h: h.delivery_tag)
            try:
                if not unsettled or min(unsettled) > top.delivery_tag:
                    # Everything up to here is handled: one ack covers the lot.
                    await top.ack(multiple=True)
                else:
                    for handle in handles:
                        await handle.ack()
            except Exception as exc:
                # The channel went with a lost connection; the broker delivers them again.
                log.info("ack not sent (%s); the messages will be redelivered", exc)
                self._unsettled.pop(key, None)

    async def release(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            if d.handle is None:
                continue
            received: _Received = d.handle
            self._unsettled.get(received.channel, set()).discard(received.message.delivery_tag)
            with contextlib.suppress(Exception):
                await received.message.nack(requeue=True)

    async def lag(self) -> int | None:
        """Messages ready in the queue and not yet taken by any consumer."""
        channel = await self._connection.channel()
        try:
            queue = await channel.declare_queue(self._queue.name, passive=True)
            return int(queue.declaration_result.message_count) + self._buffer.qsize()
        except Exception:
            return None
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
