"""Webhooks go only where the outbound guard allows, to the very address it checked."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from suricate.domain.webhooks import WebhookSender
from suricate.outbound import Outbound


async def _receiver() -> tuple[asyncio.Server, list[bytes]]:
    """A loopback HTTP receiver that records each request's head and answers 204."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


def test_a_webhook_to_loopback_is_refused_without_the_allow_list() -> None:
    async def go() -> tuple[bool, list[bytes]]:
        server, seen = await _receiver()
        port = server.sockets[0].getsockname()[1]
        async with server:
            sent = await WebhookSender(b"k", Outbound()).send(
                f"http://127.0.0.1:{port}/internal-admin", "run.finished", {}
            )
        return sent, seen

    sent, seen = asyncio.run(go())
    assert sent is False and seen == []


def test_a_webhook_connects_to_the_checked_address_with_the_hosts_name() -> None:
    async def only_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async def go() -> tuple[bool, list[bytes]]:
        server, seen = await _receiver()
        port = server.sockets[0].getsockname()[1]
        guard = Outbound(["127.0.0.0/8"], resolver=only_loopback)
        async with server:
            sent = await WebhookSender(b"k", guard).send(
                f"http://hooks.example.invalid:{port}/hook", "run.finished", {"run": {}}
            )
        return sent, seen

    sent, seen = asyncio.run(go())
    assert sent is True
    assert b"POST /hook HTTP/1.1" in seen[0]
    assert b"host: hooks.example.invalid:" in seen[0].lower()


@pytest.mark.settings(outbound_allowed_hosts="")
@pytest.mark.sqlite_only("the guard is checked before the database")
def test_runs_and_schedules_refuse_webhooks_to_internal_addresses(alice: TestClient) -> None:
    nb = alice.post("/api/v1/notebooks", json={"name": "hooked"}).json()["id"]
    for url in (
        "http://127.0.0.1:18999/internal-admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://localhost:8888/api/v1/auth/login",
        "http://10.0.0.1/",
    ):
        r = alice.post(f"/api/v1/notebooks/{nb}/runs", json={"webhook_url": url})
        assert r.status_code == 422, url
        assert r.json()["error"]["code"] == "host_not_allowed"
        r = alice.post(
            f"/api/v1/notebooks/{nb}/schedules", json={"cron": "0 6 * * *", "webhook_url": url}
        )
        assert r.status_code == 422, url
    assert alice.get("/api/v1/runs").json()["items"] == []
