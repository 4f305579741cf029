"""Publishing onto a stream's broker, and checking that a stream can be read."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from suricate.errors import StreamError
from suricate.node.sources.amqp import amqp_connect, amqp_queue
from suricate.node.sources.base import CONNECT_TIMEOUT, unreachable
from suricate.node.sources.mqtt import mqtt_params
from suricate.outbound import Outbound
from suricate.wire.streams import StreamSpec

log = logging.getLogger(__name__)


class Publishers:
    """Connections a node keeps for publishing onto streams, one per broker URI."""

    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound
        self._amqp: dict[str, tuple[Any, Any]] = {}  # uri -> (connection, channel)
        self._lock = asyncio.Lock()

    async def _channel(self, uri: str) -> Any:
        async with self._lock:
            connection, channel = self._amqp.get(uri, (None, None))
            if channel is None or channel.is_closed:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close()
                connection = await amqp_connect(uri, self.outbound)
                channel = await connection.channel(publisher_confirms=True)
                self._amqp[uri] = (connection, channel)
            return channel

    async def publish(
        self,
        spec: StreamSpec,
        body: bytes,
        headers: dict[str, Any],
        content_type: str | None,
        message_id: str | None = None,
    ) -> None:
        if spec.type == "amqp":
            await self._publish_amqp(spec, body, headers, content_type, message_id)
        elif spec.type == "mqtt":
            import aiomqtt

            params = await mqtt_params(spec, self.outbound)
            try:
                async with aiomqtt.Client(**params, timeout=CONNECT_TIMEOUT) as client:
                    await client.publish(spec.topic or "", body, qos=1)
            except aiomqtt.MqttError as exc:
                log.warning("MQTT publish to %s failed: %s", params["hostname"], exc)
                raise unreachable(f"{params['hostname']}:{params['port']}") from None
        else:
            raise StreamError("not_publishable", f"a {spec.type} stream has no broker")

    async def _publish_amqp(
        self,
        spec: StreamSpec,
        body: bytes,
        headers: dict[str, Any],
        content_type: str | None,
        message_id: str | None = None,
    ) -> None:
        import aio_pika

        channel = await self._channel(spec.broker_uri)
        message = aio_pika.Message(
            body,
            headers=headers or None,
            content_type=content_type,
            message_id=message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=time.time(),
        )
        try:
            if spec.exchange:
                key = spec.routing_key or ""
                if "*" in key or "#" in key:
                    key = spec.name
                exchange = await channel.get_exchange(spec.exchange, ensure=False)
                await exchange.publish(message, routing_key=key)
            else:
                await channel.default_exchange.publish(message, routing_key=spec.queue)
        except Exception as exc:
            self._amqp.pop(spec.broker_uri, None)
            raise StreamError("stream_unreachable", f"publish failed: {exc}") from None

    async def close(self) -> None:
        for connection, _ in self._amqp.values():
            with contextlib.suppress(Exception):
                await connection.close()
        self._amqp.clear()


async def check_stream(spec: StreamSpec, outbound: Outbound) -> None:
    """Connect to the stream's broker and check (or declare) its queue; raise ``StreamError``."""
    if spec.type == "amqp":
        connection = await amqp_connect(spec.broker_uri, outbound, robust=False)
        try:
            await amqp_queue(connection, spec, None)
        finally:
            with contextlib.suppress(Exception):
                await connection.close()
    elif spec.type == "mqtt":
        import aiomqtt

        params = await mqtt_params(spec, outbound)
        try:
            async with aiomqtt.Client(**params, timeout=CONNECT_TIMEOUT):
                pass
        except aiomqtt.MqttError as exc:
            log.warning("MQTT connection to %s failed: %s", params["hostname"], exc)
            raise unreachable(f"{params['hostname']}:{params['port']}") from None
