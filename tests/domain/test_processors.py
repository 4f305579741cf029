"""Streams and processors on the embedded node: replay streams need no broker at all."""

from __future__ import annotations

import json
from typing import Any

import nbformat
import pytest
from fastapi.testclient import TestClient

from tests.support.api import finished_run
from tests.support.wait import wait_until

pytestmark = [
    pytest.mark.sqlite_only("kernels do the work here: one database keeps these tests quick"),
    pytest.mark.settings(kernel_pool_size=1),
]


def notebook(*cells: str) -> dict[str, Any]:
    nb = nbformat.v4.new_notebook()
    nb.cells.extend(nbformat.v4.new_code_cell(c) for c in cells)
    return nbformat.from_dict(nb)


def create_notebook(client: TestClient, *cells: str, name: str = "proc") -> str:
    r = client.post(
        "/api/v1/notebooks", json={"name": name, "kind": "processing", "notebook": notebook(*cells)}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def upload(client: TestClient, name: str, data: bytes) -> None:
    r = client.put(f"/api/v1/objects/{name}", content=data)
    assert r.status_code in (200, 201), r.text


def wait_for(client: TestClient, pid: str, check: Any, timeout: float = 60) -> dict[str, Any]:
    return wait_until(
        lambda: dict(client.get(f"/api/v1/processors/{pid}").json()),
        until=check,
        timeout=timeout,
        message="processor never got there",
    )


def all_actions(client: TestClient, pid: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"processor": pid, "limit": 1000}
    while True:
        page = client.get("/api/v1/actions", params=params).json()
        items.extend(page["items"])
        if not page["next"]:
            return items
        params["cursor"] = page["next"]


CSV = b"play,down,yards\n" + b"".join(f"{i},{i % 4 + 1},{i * 2}\n".encode() for i in range(200))

HANDLER = """
from suricate import sdk
def on_message(msg):
    play = msg.body
    sdk.action(f"play {play['play']} on down {play['down']}", play=play['play'])
"""


def test_a_replay_stream_feeds_a_processor_that_records_actions(alice: TestClient) -> None:
    upload(alice, "plays.csv", CSV)
    r = alice.post(
        "/api/v1/streams",
        json={"name": "plays", "type": "replay", "object": "plays.csv", "rate": 2000},
    )
    assert r.status_code == 201, r.text
    nb = create_notebook(alice, "import math", HANDLER)
    r = alice.post("/api/v1/processors", json={"notebook_id": nb, "stream": "plays"})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["status"] == "starting"
    proc = wait_for(alice, pid, lambda p: p["processed"] >= 200)
    assert proc["status"] == "running"
    assert proc["received"] == 200 and proc["failed"] == 0
    assert proc["position"] == 200
    actions = all_actions(alice, pid)
    assert sorted(a["data"]["play"] for a in actions) == list(range(200))
    assert actions[0]["text"].startswith("play 0 on down 1")
    tail = alice.get("/api/v1/streams/plays/tail", params={"n": 3}).json()["items"]
    assert len(tail) == 3
    r = alice.delete(f"/api/v1/processors/{pid}")
    assert r.json()["status"] == "stopped"


BATCH_HANDLER = """
from suricate import sdk
def on_batch(msgs):
    sdk.action("batch", size=len(msgs), plays=[m.body["play"] for m in msgs])
"""


def test_on_batch_gets_micro_batches(alice: TestClient) -> None:
    upload(alice, "plays.csv", CSV)
    alice.post(
        "/api/v1/streams",
        json={"name": "fast", "type": "replay", "object": "plays.csv", "rate": 100000},
    )
    nb = create_notebook(alice, BATCH_HANDLER)
    pid = alice.post(
        "/api/v1/processors",
        json={"notebook_id": nb, "stream": "fast", "batch_size": 50, "batch_wait_ms": 200},
    ).json()["id"]
    wait_for(alice, pid, lambda p: p["processed"] >= 200)
    actions = all_actions(alice, pid)
    plays = [p for a in actions for p in a["data"]["plays"]]
    assert sorted(plays) == list(range(200))
    assert max(a["data"]["size"] for a in actions) == 50


POISON_HANDLER = """
from suricate import sdk
def on_message(msg):
    if msg.body["play"] == 7:
        raise ValueError("bad play 7")
    sdk.action("ok", play=msg.body["play"])
"""


def test_a_poison_message_is_dead_lettered_and_replayed_after_a_fix(alice: TestClient) -> None:
    lines = 30
    upload(alice, "plays.csv", b"".join(CSV.splitlines(keepends=True)[: lines + 1]))
    alice.post(
        "/api/v1/streams",
        json={"name": "plays", "type": "replay", "object": "plays.csv", "rate": 5000},
    )
    nb = create_notebook(alice, POISON_HANDLER)
    pid = alice.post(
        "/api/v1/processors", json={"notebook_id": nb, "stream": "plays", "max_retries": 2}
    ).json()["id"]
    proc = wait_for(alice, pid, lambda p: p["processed"] + p["dead_lettered"] >= lines)
    assert proc["dead_lettered"] == 1
    assert proc["failed"] == 3  # the first try and two retries
    assert proc["processed"] == lines - 1
    letters = alice.get(f"/api/v1/processors/{pid}/dead-letters").json()["items"]
    assert len(letters) == 1
    letter = letters[0]
    assert letter["error"] == "ValueError: bad play 7"
    assert "raise ValueError" in letter["traceback"] and "\x1b" not in letter["traceback"]
    assert letter["attempts"] == 3 and letter["notebook_revision"] == 1
    assert '"play": 7' in letter["body"]
    plays = sorted(a["data"]["play"] for a in all_actions(alice, pid))
    assert 7 not in plays and len(plays) == lines - 1

    # Fix the notebook, restart on the new revision, replay the dead letter.
    fixed = POISON_HANDLER.replace('raise ValueError("bad play 7")', 'sdk.action("fixed", play=7)')
    current = alice.get(f"/api/v1/notebooks/{nb}").json()
    r = alice.put(
        f"/api/v1/notebooks/{nb}",
        json={"notebook": notebook(fixed), "base_revision": current["revision"]},
    )
    assert r.status_code == 200, r.text
    r = alice.post(f"/api/v1/processors/{pid}/restart")
    assert r.status_code == 200 and r.json()["notebook_revision"] == 2
    wait_for(alice, pid, lambda p: p["status"] == "running")
    r = alice.post(f"/api/v1/processors/{pid}/dead-letters/replay")
    assert r.status_code == 202 and r.json() == {"replaying": 1}
    wait_until(
        lambda: alice.get(f"/api/v1/processors/{pid}/dead-letters").json()["items"][0]["status"],
        until=lambda status: status == "replayed",
        timeout=30,
        message="dead letter never replayed",
    )
    texts = [a["text"] for a in all_actions(alice, pid)]
    assert texts.count("fixed") == 1


def test_a_setup_error_fails_the_processor_naming_the_cell(alice: TestClient) -> None:
    upload(alice, "plays.csv", CSV)
    alice.post("/api/v1/streams", json={"name": "s", "type": "replay", "object": "plays.csv"})
    nb = create_notebook(alice, "x = 1", "import no_such_module_here", HANDLER)
    pid = alice.post("/api/v1/processors", json={"notebook_id": nb, "stream": "s"}).json()["id"]
    proc = wait_for(alice, pid, lambda p: p["status"] != "starting")
    assert proc["status"] == "failed"
    assert proc["error"]["ename"] == "ModuleNotFoundError"
    assert proc["error"]["cell"] == 1
    assert "no_such_module_here" in proc["error"]["traceback"]


def test_a_notebook_without_a_handler_fails_clearly(alice: TestClient) -> None:
    upload(alice, "plays.csv", CSV)
    alice.post("/api/v1/streams", json={"name": "s", "type": "replay", "object": "plays.csv"})
    nb = create_notebook(alice, "x = 1")
    pid = alice.post("/api/v1/processors", json={"notebook_id": nb, "stream": "s"}).json()["id"]
    proc = wait_for(alice, pid, lambda p: p["status"] != "starting")
    assert proc["status"] == "failed"
    assert "on_message(msg)" in proc["error"]["evalue"]


def test_messages_published_to_a_replay_stream_reach_its_processor(alice: TestClient) -> None:
    upload(alice, "empty.jsonl", b'{"play": -1, "down": 1}\n')
    alice.post("/api/v1/streams", json={"name": "live", "type": "replay", "object": "empty.jsonl"})
    nb = create_notebook(alice, HANDLER)
    pid = alice.post("/api/v1/processors", json={"notebook_id": nb, "stream": "live"}).json()["id"]
    wait_for(alice, pid, lambda p: p["processed"] == 1)
    r = alice.post("/api/v1/streams/live/messages", json={"play": 99, "down": 3})
    assert r.status_code == 202, r.text
    wait_for(alice, pid, lambda p: p["processed"] == 2)
    assert [a["data"]["play"] for a in all_actions(alice, pid)] == [-1, 99]
    tail = alice.get("/api/v1/streams/live/tail").json()["items"]
    bodies = [json.loads(m["body"]) for m in tail]
    # Seen when published and again when the processor took it: shown once.
    assert bodies.count({"play": 99, "down": 3}) == 1, tail


def test_stream_definitions_are_checked(alice: TestClient) -> None:
    def create(**body: Any) -> Any:
        return alice.post("/api/v1/streams", json={"name": "s", **body})

    assert create(type="kafka").status_code == 422
    r = create(type="amqp", uri="http://example.com", queue="q")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_stream"
    assert "amqp" in r.json()["error"]["message"]
    assert create(type="amqp", uri="amqp://127.0.0.1").status_code == 422  # no queue
    r = create(type="amqp", uri="amqp://guest:guest@127.0.0.1:1/", queue="q")
    assert r.status_code == 422
    assert "cannot" in r.json()["error"]["message"]
    r = create(type="replay", object="nothing.csv")
    assert r.status_code == 422 and "nothing.csv" in r.json()["error"]["message"]
    upload(alice, "x.csv", CSV)
    assert create(type="replay", object="x.csv", rate=0).status_code == 422
    assert create(type="replay", object="x.csv", queue="q").status_code == 422
    assert create(type="replay", object="x.csv").status_code == 201
    assert create(type="replay", object="x.csv").status_code == 409
    assert alice.post("/api/v1/streams", json={"name": "../x", "type": "replay"}).status_code == 422


def test_streams_and_processors_of_another_tenant_are_404(
    alice: TestClient, bob: TestClient
) -> None:
    upload(alice, "plays.csv", CSV)
    alice.post("/api/v1/streams", json={"name": "s", "type": "replay", "object": "plays.csv"})
    nb = create_notebook(alice, HANDLER)
    pid = alice.post("/api/v1/processors", json={"notebook_id": nb, "stream": "s"}).json()["id"]
    wait_for(alice, pid, lambda p: p["processed"] >= 1)
    for method, url in [
        ("GET", "/api/v1/streams/s"),
        ("GET", "/api/v1/streams/s/tail"),
        ("POST", "/api/v1/streams/s/messages"),
        ("DELETE", "/api/v1/streams/s"),
        ("GET", f"/api/v1/processors/{pid}"),
        ("DELETE", f"/api/v1/processors/{pid}"),
        ("POST", f"/api/v1/processors/{pid}/restart"),
        ("GET", f"/api/v1/processors/{pid}/dead-letters"),
        ("POST", f"/api/v1/processors/{pid}/dead-letters/replay"),
    ]:
        r = bob.request(method, url, json={} if method == "POST" else None)
        assert r.status_code == 404, (method, url, r.text)
    assert bob.get("/api/v1/actions", params={"processor": pid}).status_code == 404
    assert bob.get("/api/v1/actions").json()["items"] == []
    assert bob.get("/api/v1/processors").json()["items"] == []
    assert bob.get("/api/v1/streams").json()["items"] == []
    assert (
        bob.post("/api/v1/processors", json={"notebook_id": nb, "stream": "s"}).status_code == 404
    )
    # A stream in use cannot be deleted.
    assert alice.delete("/api/v1/streams/s").status_code == 409
    alice.delete(f"/api/v1/processors/{pid}")
    assert alice.delete("/api/v1/streams/s").status_code == 204


KILLER = """
import os
from suricate import sdk
def on_message(msg):
    if msg.body["play"] == 5:
        os._exit(1)  # takes the kernel down
    sdk.action("ok", play=msg.body["play"])
"""


def test_a_message_that_kills_the_kernel_is_dead_lettered_and_the_rest_flow(
    alice: TestClient,
) -> None:
    rows = 20
    upload(alice, "plays.csv", b"".join(CSV.splitlines(keepends=True)[: rows + 1]))
    alice.post(
        "/api/v1/streams",
        json={"name": "plays", "type": "replay", "object": "plays.csv", "rate": 1000},
    )
    nb = create_notebook(alice, KILLER)
    pid = alice.post(
        "/api/v1/processors", json={"notebook_id": nb, "stream": "plays", "max_retries": 1}
    ).json()["id"]
    proc = wait_for(alice, pid, lambda p: p["processed"] + p["dead_lettered"] >= rows, 120)
    assert proc["status"] == "running"
    assert proc["dead_lettered"] == 1 and proc["processed"] == rows - 1
    letter = alice.get(f"/api/v1/processors/{pid}/dead-letters").json()["items"][0]
    assert letter["error"].startswith("KernelDied")
    assert json.loads(letter["body"])["play"] == 5
    plays = sorted(a["data"]["play"] for a in all_actions(alice, pid))
    assert plays == [p for p in range(rows) if p != 5]


EMITTER = """
from suricate import sdk
def on_message(msg):
    if msg.body["play"] % 2 == 0:
        sdk.emit("evens", {"even": msg.body["play"]})
"""

FORWARDED = """
from suricate import sdk
def on_message(msg):
    sdk.action("even play", play=msg.body["even"])
"""


def test_a_processor_emits_to_another_stream_and_a_run_records_actions(
    alice: TestClient,
) -> None:
    upload(alice, "plays.csv", b"".join(CSV.splitlines(keepends=True)[:11]))
    upload(alice, "seed.jsonl", b'{"even": -2}\n')
    alice.post("/api/v1/streams", json={"name": "plays", "type": "replay", "object": "plays.csv"})
    alice.post("/api/v1/streams", json={"name": "evens", "type": "replay", "object": "seed.jsonl"})
    downstream = alice.post(
        "/api/v1/processors",
        json={"notebook_id": create_notebook(alice, FORWARDED, name="fwd"), "stream": "evens"},
    ).json()["id"]
    wait_for(alice, downstream, lambda p: p["processed"] == 1)
    upstream = alice.post(
        "/api/v1/processors",
        json={"notebook_id": create_notebook(alice, EMITTER, name="emit"), "stream": "plays"},
    ).json()["id"]
    wait_for(alice, upstream, lambda p: p["processed"] == 10)
    wait_for(alice, downstream, lambda p: p["processed"] == 6)
    assert [a["data"]["play"] for a in all_actions(alice, downstream)] == [-2, 0, 2, 4, 6, 8]
    latest = alice.get(
        "/api/v1/actions", params={"processor": downstream, "newest_first": "true", "limit": 2}
    ).json()
    assert [a["data"]["play"] for a in latest["items"]] == [8, 6] and latest["next"]

    # Outside a processor, sdk.action records at once (here from a run).
    nb = create_notebook(alice, "from suricate import sdk\nsdk.action('from a run', n=1)", name="r")
    run = finished_run(alice, alice.post(f"/api/v1/notebooks/{nb}/runs").json()["id"])
    assert run["status"] == "succeeded", run
    recorded = alice.get("/api/v1/actions").json()["items"]
    assert [a["data"] for a in recorded if a["text"] == "from a run"] == [{"n": 1}]
