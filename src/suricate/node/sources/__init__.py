"""Stream connections, made by execution nodes only: read messages, publish, check a stream.

Three kinds of stream: AMQP 0-9-1 (RabbitMQ, with aio-pika), MQTT (aiomqtt), and replay (the
records of a stored CSV, JSON or Parquet object at a chosen rate, which needs no broker). A
``Source`` hands out ``Delivery`` lists and settles them: ``ack`` once handled, ``release`` to
have them delivered again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fnmatch
import io
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0


class StreamError(Exception):
    """A stream cannot be reached or read: a clear message for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Delivery:
    id: str
    body: bytes
    headers: dict[str, Any] = field(default_factory=dict)
    redelivered: bool = False
    timestamp: float | None = None  # when it was published (epoch s), when known
    handle: Any = None  # the source's own reference, for settling
    attempts: int = 0
    dead_letter_id: str | None = None

    def wire(self, stream: str) -> dict[str, Any]:
        """The form the kernel's side takes (text when UTF-8, else base64)."""
        out: dict[str, Any] = {
            "id": self.id,
            "headers": self.headers,
            "stream": stream,
            "redelivered": self.redelivered or self.attempts > 0,
        }
        try:
            out["text"] = self.body.decode()
        except UnicodeDecodeError:
            out["b64"] = base64.b64encode(self.body).decode()
        return out


class Source(Protocol):
    position: int | None
    local_ack: bool  # True when acks settle nothing outside (a replay keeps its own position)

    async def start(self) -> None: ...

    async def take(self, max_n: int, wait_s: float) -> list[Delivery]: ...

    async def ack(self, deliveries: list[Delivery]) -> None: ...

    async def release(self, deliveries: list[Delivery]) -> None: ...

    async def lag(self) -> int | None: ...

    async def close(self) -> None: ...


def host_allowed(host: str, patterns: list[str]) -> bool:
    """Tell whether ``host`` matches one of the allowed patterns (``*`` wildcards)."""
    host = host.lower()
    return any(fnmatch.fnmatchcase(host, p.strip().lower()) for p in patterns if p.strip())


def check_uri(uri: str, schemes: tuple[str, ...], allowed: list[str]) -> None:
    """Raise ``StreamError`` unless ``uri`` is well formed and its host is allowed."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise StreamError("bad_uri", f"not a valid URI: {exc}") from None
    if parts.scheme not in schemes:
        raise StreamError("bad_uri", f"the URI must start with {' or '.join(schemes)}://")
    if not parts.hostname:
        raise StreamError("bad_uri", "the URI names no host")
    if not host_allowed(parts.hostname, allowed):
        raise StreamError(
            "host_not_allowed",
            f"host {parts.hostname!r} is not in SURICATE_STREAM_ALLOWED_HOSTS",
        )
    del port


def _headers(raw: dict[str, Any] | None) -> dict[str, Any]:
    out = {}
    for key, value in (raw or {}).items():
        out[key] = value.decode(errors="replace") if isinstance(value, bytes) else value
        if not isinstance(out[key], str | int | float | bool | type(None) | list | dict):
            out[key] = str(out[key])
    return out


async def _gather(
    buffer: asyncio.Queue[Any], max_n: int, wait_s: float, convert: Callable[[Any], Delivery]
) -> list[Delivery]:
    """Wait for one item, then take up to ``max_n``, waiting at most ``wait_s`` for more."""
    out = [convert(await buffer.get())]
    deadline = time.monotonic() + wait_s
    while len(out) < max_n:
        if not buffer.empty():
            out.append(convert(buffer.get_nowait()))
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            out.append(convert(await asyncio.wait_for(buffer.get(), left)))
        except TimeoutError:
            break
    return out


# AMQP


async def _amqp_connect(uri: str, robust: bool = True) -> Any:
    import aio_pika

    connect = aio_pika.connect_robust if robust else aio_pika.connect
    try:
        return await asyncio.wait_for(connect(uri, timeout=CONNECT_TIMEOUT), CONNECT_TIMEOUT + 5)
    except (TimeoutError, OSError, ConnectionError) as exc:
        raise StreamError("stream_unreachable", f"cannot reach the broker: {exc}") from None
    except Exception as exc:
        raise StreamError(
            "stream_unreachable", f"cannot connect to the broker: {type(exc).__name__}: {exc}"
        ) from None


async def _amqp_queue(connection: Any, spec: dict[str, Any], consumer: str | None) -> Any:
    """Return the queue to read (the stream's own, or one bound to its exchange) and its channel."""
    import aio_pika

    exchange = None
    if spec.get("exchange"):
        probe = await connection.channel()
        try:
            exchange = await probe.get_exchange(spec["exchange"], ensure=True)
        except aio_pika.exceptions.ChannelClosed:
            raise StreamError(
                "stream_unreachable", f"the broker has no exchange {spec['exchange']!r}"
            ) from None
    channel = await connection.channel()
    name = spec.get("queue") or (f"suricate.processor.{consumer}" if consumer else None)
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
        await queue.bind(spec["exchange"], routing_key=spec.get("routing_key") or "#")
    return queue, channel


@dataclass(frozen=True)
class _Received:
    """An AMQP message and the channel it came on (the key its delivery tag belongs to)."""

    channel: int
    message: Any


class AmqpSource:
    """Consume a queue with manual acks; one multi-message ack where the order allows."""

    def __init__(self, spec: dict[str, Any], consumer: str, prefetch: int) -> None:
        self.spec = spec
        self.consumer = consumer
        self.prefetch = prefetch
        self.position: int | None = None
        self.local_ack = False
        self._buffer: asyncio.Queue[Any] = asyncio.Queue()
        self._unsettled: dict[int, set[int]] = {}
        self._connection: Any = None

    async def start(self) -> None:
        self._connection = await _amqp_connect(self.spec["uri"])
        try:
            queue, channel = await _amqp_queue(self._connection, self.spec, self.consumer)
            await channel.set_qos(prefetch_count=self.prefetch)
            self._queue = queue
            await queue.consume(self._on_message)
        except BaseException:
            await self.close()
            raise

    async def _on_message(self, incoming: Any) -> None:
        # The channel is named now, while it is open: once a connection is lost, asking a
        # message for its channel raises.
        channel = id(incoming.channel)
        self._unsettled.setdefault(channel, set()).add(incoming.delivery_tag)
        await self._buffer.put(_Received(channel, incoming))

    def _delivery(self, received: _Received) -> Delivery:
        incoming = received.message
        stamp = incoming.timestamp
        return Delivery(
            id=incoming.message_id or str(incoming.delivery_tag),
            body=incoming.body,
            headers=_headers(incoming.headers),
            redelivered=bool(incoming.redelivered),
            timestamp=stamp.timestamp() if stamp is not None else None,
            handle=received,
        )

    async def take(self, max_n: int, wait_s: float) -> list[Delivery]:
        return await _gather(self._buffer, max_n, wait_s, self._delivery)

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


# MQTT


def _mqtt_params(spec: dict[str, Any]) -> dict[str, Any]:
    parts = urlsplit(spec["uri"])
    return {
        "hostname": parts.hostname,
        "port": parts.port or 1883,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }


class MqttSource:
    """Subscribe with QoS 1 under a shared subscription, so instances share the load."""

    def __init__(self, spec: dict[str, Any], consumer: str) -> None:
        self.spec = spec
        self.consumer = consumer
        self.position: int | None = None
        self.local_ack = False
        self._buffer: asyncio.Queue[Any] = asyncio.Queue()
        self._client: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import aiomqtt

        client = aiomqtt.Client(
            **_mqtt_params(self.spec), identifier=self.consumer, timeout=CONNECT_TIMEOUT
        )
        try:
            await client.__aenter__()
        except Exception as exc:
            message = f"cannot reach the MQTT broker: {exc}"
            raise StreamError("stream_unreachable", message) from None
        self._client = client
        group = self.consumer.rsplit("-", 1)[0]
        await client.subscribe(f"$share/{group}/{self.spec['topic']}", qos=1)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            await self._read_messages()
        except Exception as exc:
            await self._buffer.put(StreamError("stream_lost", f"MQTT connection lost: {exc}"))

    async def _read_messages(self) -> None:
        async for message in self._client.messages:
            payload = message.payload
            body = payload if isinstance(payload, bytes) else str(payload).encode()
            await self._buffer.put(
                Delivery(
                    id=str(message.mid),
                    body=body,
                    headers={"topic": str(message.topic)},
                    timestamp=time.time(),
                )
            )

    async def take(self, max_n: int, wait_s: float) -> list[Delivery]:
        return await _gather(self._buffer, max_n, wait_s, self._checked)

    @staticmethod
    def _checked(item: Any) -> Delivery:
        if isinstance(item, StreamError):
            raise item
        return item

    async def ack(self, deliveries: list[Delivery]) -> None:
        return None  # QoS 1 messages are acknowledged to the broker on receipt

    async def release(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            await self._buffer.put(d)

    async def lag(self) -> int | None:
        return self._buffer.qsize()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.__aexit__(None, None, None)
            self._client = None


# Replay


def records_from(data: bytes, name: str, content_type: str | None) -> list[Any]:
    """Read a stored object's records: CSV, JSON lines, a JSON array, or Parquet."""
    import gzip

    import pandas as pd

    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    lower = name.lower().removesuffix(".gz")
    kind = content_type or ""
    try:
        if lower.endswith(".parquet") or data[:4] == b"PAR1":
            frame = pd.read_parquet(io.BytesIO(data))
        elif lower.endswith((".jsonl", ".ndjson")) or "ndjson" in kind or "jsonl" in kind:
            return [json.loads(line) for line in data.splitlines() if line.strip()]
        elif lower.endswith(".json") or "json" in kind:
            value = json.loads(data)
            return value if isinstance(value, list) else [value]
        else:
            frame = pd.read_csv(io.BytesIO(data))
    except Exception as exc:
        raise StreamError("bad_object", f"cannot read the records of {name!r}: {exc}") from None
    records: list[Any] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return records


class ReplaySource:
    """Hand out a stored object's records as messages at ``rate`` per second.

    ``position`` is the index of the first record not yet settled; a processor restarted from
    it sees every record at least once.
    """

    def __init__(
        self,
        spec: dict[str, Any],
        load: Callable[[], Awaitable[list[Any]]],
        position: int,
    ) -> None:
        self.spec = spec
        self.rate = float(spec.get("rate") or 10.0)
        self.loop = bool(spec.get("loop"))
        self._load = load
        self._start = position
        self._next = position
        self.position: int | None = position
        self.local_ack = True
        self._unsettled: set[int] = set()
        self._again: deque[int] = deque()
        self._records: list[Any] = []

    async def start(self) -> None:
        self._records = await self._load()
        if self.loop and self._records:
            self._start %= len(self._records)
            self._next = self._start
            self.position = self._start
        self._t0 = time.monotonic()

    def _exhausted(self) -> bool:
        return not self._records or (not self.loop and self._next >= len(self._records))

    def _delivery(self, index: int, again: bool) -> Delivery:
        record = self._records[index % len(self._records)]
        self._unsettled.add(index)
        return Delivery(
            id=str(index),
            body=json.dumps(record).encode(),
            headers={"position": index},
            redelivered=again,
            timestamp=time.time(),
            handle=index,
        )

    def _due(self) -> int:
        """Index past the last record due by now: the first at once, then ``rate`` a second."""
        due = self._start + 1 + int((time.monotonic() - self._t0) * self.rate)
        return due if self.loop else min(due, len(self._records))

    async def take(self, max_n: int, wait_s: float) -> list[Delivery]:
        while True:
            out: list[Delivery] = []
            while self._again and len(out) < max_n:
                out.append(self._delivery(self._again.popleft(), True))
            if out:
                return out
            if self._exhausted():
                await asyncio.Event().wait()  # nothing more, ever: wait to be stopped
            count = min(max_n, self._due() - self._next)
            if count > 0:
                if count < max_n and wait_s > 0:
                    # Micro-batching: wait a little for more to fall due.
                    await asyncio.sleep(min(wait_s, (max_n - count) / self.rate))
                    count = min(max_n, self._due() - self._next)
                out = [self._delivery(self._next + i, False) for i in range(count)]
                self._next += count
                return out
            wake = self._t0 + (self._next - self._start) / self.rate  # when the next falls due
            await asyncio.sleep(max(0.0, wake - time.monotonic()))

    def _settle(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            if isinstance(d.handle, int):
                self._unsettled.discard(d.handle)
        self.position = min(self._unsettled) if self._unsettled else self._next
        self._again = deque(i for i in self._again if i in self._unsettled)

    async def ack(self, deliveries: list[Delivery]) -> None:
        self._settle(deliveries)

    async def release(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            if isinstance(d.handle, int):
                self._again.append(d.handle)

    async def lag(self) -> int | None:
        """Records due by now (at the rate) but not handled yet."""
        due = self._start + int((time.monotonic() - self._t0) * self.rate)
        if not self.loop:
            due = min(due, len(self._records))
        return max(0, due - (self.position or 0))

    async def close(self) -> None:
        return None


# Publishing and checking


class Publishers:
    """Connections a node keeps for publishing onto streams, one per broker URI."""

    def __init__(self) -> None:
        self._amqp: dict[str, tuple[Any, Any]] = {}  # uri -> (connection, channel)
        self._lock = asyncio.Lock()

    async def _channel(self, uri: str) -> Any:
        async with self._lock:
            connection, channel = self._amqp.get(uri, (None, None))
            if channel is None or channel.is_closed:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close()
                connection = await _amqp_connect(uri)
                channel = await connection.channel(publisher_confirms=True)
                self._amqp[uri] = (connection, channel)
            return channel

    async def publish(
        self,
        spec: dict[str, Any],
        body: bytes,
        headers: dict[str, Any],
        content_type: str | None,
        message_id: str | None = None,
    ) -> None:
        if spec["type"] == "amqp":
            await self._publish_amqp(spec, body, headers, content_type, message_id)
        elif spec["type"] == "mqtt":
            import aiomqtt

            try:
                async with aiomqtt.Client(**_mqtt_params(spec), timeout=CONNECT_TIMEOUT) as client:
                    await client.publish(spec["topic"], body, qos=1)
            except aiomqtt.MqttError as exc:
                raise StreamError("stream_unreachable", f"MQTT publish failed: {exc}") from None
        else:
            raise StreamError("not_publishable", f"a {spec['type']} stream has no broker")

    async def _publish_amqp(
        self,
        spec: dict[str, Any],
        body: bytes,
        headers: dict[str, Any],
        content_type: str | None,
        message_id: str | None = None,
    ) -> None:
        import aio_pika

        channel = await self._channel(spec["uri"])
        message = aio_pika.Message(
            body,
            headers=headers or None,
            content_type=content_type,
            message_id=message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=time.time(),
        )
        try:
            if spec.get("exchange"):
                key = spec.get("routing_key") or ""
                if "*" in key or "#" in key:
                    key = spec.get("name", "")
                exchange = await channel.get_exchange(spec["exchange"], ensure=False)
                await exchange.publish(message, routing_key=key)
            else:
                await channel.default_exchange.publish(message, routing_key=spec["queue"])
        except Exception as exc:
            self._amqp.pop(spec["uri"], None)
            raise StreamError("stream_unreachable", f"publish failed: {exc}") from None

    async def close(self) -> None:
        for connection, _ in self._amqp.values():
            with contextlib.suppress(Exception):
                await connection.close()
        self._amqp.clear()


async def check_stream(spec: dict[str, Any]) -> None:
    """Connect to the stream's broker and check (or declare) its queue; raise ``StreamError``."""
    if spec["type"] == "amqp":
        connection = await _amqp_connect(spec["uri"], robust=False)
        try:
            await _amqp_queue(connection, spec, None)
        finally:
            with contextlib.suppress(Exception):
                await connection.close()
    elif spec["type"] == "mqtt":
        import aiomqtt

        try:
            async with aiomqtt.Client(**_mqtt_params(spec), timeout=CONNECT_TIMEOUT):
                pass
        except aiomqtt.MqttError as exc:
            message = f"cannot reach the MQTT broker: {exc}"
            raise StreamError("stream_unreachable", message) from None
