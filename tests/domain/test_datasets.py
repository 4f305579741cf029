"""Datasets that grow: rows appended (by key, at least once), gathered into versions."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from suricate.server.platform import Platform
from tests.domain.test_processors import all_actions, create_notebook, upload, wait_for
from tests.support.wait import wait_until


def lines(client: TestClient, name: str, version: int | None = None) -> list[Any]:
    params = {"version": version} if version else None
    r = client.get(f"/api/v1/objects/{name}/content", params=params)
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.text.splitlines()]


@pytest.mark.settings(append_rows=1000, append_seconds=3600)
def test_rows_are_gathered_into_versions_and_a_known_key_is_left_out(alice: TestClient) -> None:
    r = alice.post("/api/v1/objects/plays.jsonl/rows", json={"records": [{"id": 1}, {"id": 2}]})
    assert r.status_code == 202 and r.json() == {"name": "plays.jsonl", "accepted": 2, "pending": 2}
    assert alice.get("/api/v1/objects/plays.jsonl").status_code == 404  # not written yet
    again = {"records": [{"id": 2}, {"id": 3}], "key": "id"}
    assert alice.post("/api/v1/objects/plays.jsonl/rows", json=again).json()["accepted"] == 2
    # With a key, the second time adds nothing: {"id": 3} was appended with that key.
    assert alice.post("/api/v1/objects/plays.jsonl/rows", json=again).json()["accepted"] == 0
    first = alice.post("/api/v1/objects/plays.jsonl/rows/flush")
    assert first.status_code == 200 and first.json()["version"] == 1
    assert lines(alice, "plays.jsonl") == [{"id": 1}, {"id": 2}, {"id": 2}, {"id": 3}]
    assert alice.post("/api/v1/objects/plays.jsonl/rows/flush").status_code == 204
    alice.post("/api/v1/objects/plays.jsonl/rows", json={"records": [{"id": 4}], "key": "id"})
    assert alice.post("/api/v1/objects/plays.jsonl/rows", json=again).json()["accepted"] == 0
    assert alice.post("/api/v1/objects/plays.jsonl/rows/flush").json()["version"] == 2
    assert lines(alice, "plays.jsonl")[-2:] == [{"id": 3}, {"id": 4}]
    assert len(lines(alice, "plays.jsonl", 1)) == 4  # versions stay as they were


def test_appends_are_checked(alice: TestClient) -> None:
    bad = [
        ("plays.csv", {"records": [{"a": 1}]}),
        ("plays.jsonl", {"records": []}),
        ("plays.jsonl", {"records": [{"a": 1}], "key": "id"}),
        ("plays.jsonl", {"records": "nope"}),
        ("padded.jsonl%20", {"records": [{"a": 1}]}),
    ]
    for name, body in bad:
        r = alice.post(f"/api/v1/objects/{name}/rows", json=body)
        assert r.status_code == 422, (name, body, r.text)


def test_a_flush_cut_short_is_completed_never_written_twice(
    alice: TestClient, platform: Platform
) -> None:
    alice.post("/api/v1/objects/log.jsonl/rows", json={"records": [{"n": 1}, {"n": 2}]})
    tenant_id = dict((n, i) for i, n in platform.tenants.list_tenants())["acme"]
    datasets = platform.datasets
    content, _, _ = datasets._prepare(tenant_id, "log.jsonl")

    async def upload_only() -> None:  # the server dies before it marks the rows written
        async def chunks() -> Any:
            yield content

        await platform.objects.upload(tenant_id, "log.jsonl", chunks())

    anyio.run(upload_only)
    assert lines(alice, "log.jsonl") == [{"n": 1}, {"n": 2}]
    alice.post("/api/v1/objects/log.jsonl/rows", json={"records": [{"n": 3}]})
    assert alice.post("/api/v1/objects/log.jsonl/rows/flush").json()["version"] == 2
    assert lines(alice, "log.jsonl") == [{"n": 1}, {"n": 2}, {"n": 3}]


RECORDER = """
from suricate import sdk
def on_message(msg):
    sdk.append("seen.jsonl", {"play": msg.body["play"], "down": msg.body["down"]}, key="play")
    sdk.action("seen", play=msg.body["play"])
"""


@pytest.mark.sqlite_only("a kernel does the work")
@pytest.mark.settings(kernel_pool_size=1, append_rows=25, append_seconds=1)
def test_a_processor_appends_what_it_sees_once_by_key_however_often_it_sees_it(
    alice: TestClient,
) -> None:
    upload(
        alice,
        "plays.csv",
        b"play,down\n" + b"".join(f"{i},{i % 4 + 1}\n".encode() for i in range(30)),
    )
    stream = {"name": "plays", "type": "replay", "object": "plays.csv", "rate": 200, "loop": True}
    assert alice.post("/api/v1/streams", json=stream).status_code == 201
    nb = create_notebook(alice, RECORDER)
    pid = alice.post("/api/v1/processors", json={"notebook_id": nb, "stream": "plays"}).json()["id"]
    wait_for(alice, pid, lambda p: p["processed"] >= 90)  # every play seen three times or more
    alice.delete(f"/api/v1/processors/{pid}")

    def seen() -> list[Any]:
        found = alice.get("/api/v1/objects/seen.jsonl").status_code == 200
        return lines(alice, "seen.jsonl") if found else []

    written = wait_until(
        seen,
        until=lambda found: len(found) >= 30,
        timeout=30,
        message="the appended rows were not written",
    )
    assert sorted(r["play"] for r in written) == list(range(30))
    versions = alice.get("/api/v1/objects/seen.jsonl").json()["versions"]
    assert 1 <= len(versions) <= 3  # gathered, never one version per message
    assert len(all_actions(alice, pid)) >= 90
