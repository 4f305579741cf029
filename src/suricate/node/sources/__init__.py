"""Stream connections, made by execution nodes only: read messages, publish, check a stream.

Three kinds of stream: AMQP 0-9-1 (RabbitMQ, with aio-pika), MQTT (aiomqtt), and replay (the
records of a stored CSV, JSON or Parquet object at a chosen rate, which needs no broker). A
``Source`` hands out ``Delivery`` lists and settles them: ``ack`` once handled, ``release`` to
have them delivered again.
"""

from suricate.errors import StreamError
from suricate.node.sources.amqp import AmqpSource
from suricate.node.sources.base import CONNECT_TIMEOUT, Delivery, Source
from suricate.node.sources.mqtt import MqttSource
from suricate.node.sources.publish import Publishers, check_stream
from suricate.node.sources.replay import ReplaySource
from suricate.wire.records import records_from
from suricate.wire.streams import check_spec, check_uri, host_allowed

__all__ = [
    "CONNECT_TIMEOUT",
    "AmqpSource",
    "Delivery",
    "MqttSource",
    "Publishers",
    "ReplaySource",
    "Source",
    "StreamError",
    "check_spec",
    "check_stream",
    "check_uri",
    "host_allowed",
    "records_from",
]
