"""MQTT streams, with aiomqtt: a shared subscription at QoS 1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from suricate.errors import StreamError
from suricate.node.sources.base import (
    CONNECT_TIMEOUT,
    Delivery,
    checked_address,
    gather,
    unreachable,
)
from suricate.outbound import Outbound
from suricate.wire.streams import StreamSpec

log = logging.getLogger(__name__)


async def mqtt_params(spec: StreamSpec, outbound: Outbound) -> dict[str, Any]:
    """The client's arguments: the broker's address as the outbound guard checked it."""
    parts = urlsplit(spec.broker_uri)
    port = parts.port or 1883
    address = await checked_address(parts.hostname or "", port, outbound)
    return {
        "hostname": address,
        "port": parts.port or 1883,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }


class MqttSource:
    """Subscribe with QoS 1 under a shared subscription, so instances share the load."""

    def __init__(self, spec: StreamSpec, consumer: str, outbound: Outbound) -> None:
        self.spec = spec
        self.outbound = outbound
        self.consumer = consumer
        self.position: int | None = None
        self.local_ack = False
        self._buffer: asyncio.Queue[Any] = asyncio.Queue()
        self._client: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import aiomqtt

        params = await mqtt_params(self.spec, self.outbound)
        client = aiomqtt.Client(**params, identifier=self.consumer, timeout=CONNECT_TIMEOUT)
        try:
            await client.__aenter__()
        except Exception as exc:
            log.warning("MQTT connection to %s failed: %s", self.spec.broker_uri, exc)
            raise unreachable(f"{params['hostname']}:{params['port']}") from None
        self._client = client
        group = self.consumer.rsplit("-", 1)[0]
        await client.subscribe(f"$share/{group}/{self.spec.topic}", qos=1)
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

    async def take(self, max_n: int, wait_s: float, fill: int | None = None) -> list[Delivery]:
        return await gather(self._buffer, max_n, wait_s, self._checked, fill)

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
