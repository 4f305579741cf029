"""Streams: internal brokers refused unless allowed; unreachable ones all look the same."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.servers import free_port

pytestmark = pytest.mark.sqlite_only("streams are checked on the node")


def _amqp(uri: str) -> dict[str, str]:
    return {"name": "s" + str(abs(hash(uri)) % 10_000), "type": "amqp", "uri": uri, "queue": "q"}


@pytest.mark.settings(outbound_allowed_hosts="")
def test_a_stream_to_loopback_is_refused_without_the_allow_list(alice: TestClient) -> None:
    for uri in ("amqp://127.0.0.1:5672/", "amqp://guest:guest@localhost/", "mqtt://[::1]:1883"):
        body = (
            _amqp(uri)
            if uri.startswith("amqp")
            else {"name": "m", "type": "mqtt", "uri": uri, "topic": "t"}
        )
        r = alice.post("/api/v1/streams", json=body)
        assert r.status_code == 422, uri
        assert r.json()["error"]["code"] == "invalid_stream", r.json()
        assert "not an allowed destination" in r.json()["error"]["message"]


@pytest.fixture
def listeners() -> Iterator[dict[str, int]]:
    """Loopback ports where different things answer: nothing, an HTTP server, a silent close."""
    loop = asyncio.new_event_loop()
    ports: dict[str, int] = {"closed": free_port()}

    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def start() -> list[asyncio.Server]:
        servers = []
        for name, handler in (("http", http), ("hang_up", hang_up)):
            server = await asyncio.start_server(handler, "127.0.0.1", 0, family=socket.AF_INET)
            ports[name] = server.sockets[0].getsockname()[1]
            servers.append(server)
        return servers

    servers = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield ports
    for server in servers:
        loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    for server in servers:
        loop.run_until_complete(server.wait_closed())
    loop.close()


def test_unreachable_brokers_give_one_error_whatever_answered(
    alice: TestClient, listeners: dict[str, int]
) -> None:
    messages = {}
    for what, port in listeners.items():
        r = alice.post("/api/v1/streams", json=_amqp(f"amqp://u:p@127.0.0.1:{port}/"))
        assert r.status_code == 422, what
        error = r.json()["error"]
        messages[what] = (error["code"], re.sub(str(port), "PORT", error["message"]))
    assert len(set(messages.values())) == 1, messages
