"""Processors against the real RabbitMQ, and across restarts and killed execution nodes.

The messages are published from outside with pika, as any producer would; every test counts
what it sent against the actions recorded: none may be lost, and (where nothing failed) none
may be recorded twice.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import nbformat
import pika
import pytest
from fastapi.testclient import TestClient

from tests.support.api import finished_run
from tests.support.servers import Server, restart_server
from tests.support.services import MQTT, mqtt_reachable, require
from tests.support.wait import wait_until


def notebook(*cells: str) -> dict[str, Any]:
    nb = nbformat.v4.new_notebook()
    nb.cells.extend(nbformat.v4.new_code_cell(c) for c in cells)
    return json.loads(nbformat.writes(nb))


def publish(url: str, queue: str, bodies: list[bytes]) -> None:
    """Publish persistent messages with pika, confirmed by the broker."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    channel.confirm_delivery()
    props = pika.BasicProperties(delivery_mode=2, content_type="application/json")
    for body in bodies:
        channel.basic_publish("", queue, body, props)
    connection.close()


@pytest.fixture
def remote() -> Iterator[Callable[[str, dict[str, str]], Api]]:
    """The API of a real server, over HTTP; the clients are closed afterwards."""
    clients: list[httpx.Client] = []

    def make(url: str, headers: dict[str, str]) -> Api:
        client = httpx.Client(base_url=url, headers=headers, timeout=120)
        clients.append(client)
        return Api(client)

    yield make
    for client in clients:
        client.close()


class Api:
    """The REST API from the outside, for a TestClient or a real server alike."""

    def __init__(self, client: TestClient | httpx.Client) -> None:
        self.client = client

    def call(self, method: str, path: str, **kw: Any) -> Any:
        r = self.client.request(method, f"/api/v1{path}", **kw)
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def notebook(self, name: str, *cells: str) -> str:
        nb = {"name": name, "kind": "processing", "notebook": notebook(*cells)}
        return str(self.call("POST", "/notebooks", json=nb)["id"])

    def processor(self, pid: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/processors/{pid}"))

    def wait(self, pid: str, check: Callable[[dict[str, Any]], bool], timeout: float) -> Any:
        """Wait until the processor's record passes `check`; fail at once if it stops."""

        def poll() -> tuple[dict[str, Any], bool]:
            proc = self.processor(pid)
            held = bool(check(proc))
            assert held or proc["status"] in ("starting", "running"), (
                f"{proc['status']}: {proc['error']} (restarts {proc['restarts']})"
            )
            return proc, held

        proc, _ = wait_until(
            poll, until=lambda seen: seen[1], timeout=timeout, interval=0.2, message="timed out"
        )
        return proc

    def actions(self, pid: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"processor": pid, "limit": 1000}
        while True:
            page = self.call("GET", "/actions", params=params)
            items.extend(page["items"])
            if not page["next"]:
                return items
            params["cursor"] = page["next"]


MODEL_NOTEBOOK = """
import numpy as np
from sklearn.linear_model import LogisticRegression
from suricate import sdk
X = np.arange(100).reshape(-1, 1)
y = (X[:, 0] >= 50).astype(int)
sdk.save("long-gain.joblib", LogisticRegression().fit(X, y))
"""

PROCESSING_NOTEBOOK = """
import numpy as np
from suricate import sdk
model = sdk.load("long-gain.joblib")

def on_batch(msgs):
    X = np.array([[m.body["yards"]] for m in msgs])
    for msg, label in zip(msgs, model.predict(X)):
        sdk.action("long gain" if label else "short gain", n=msg.body["n"], label=int(label))
"""


def test_5000_messages_from_pika_give_5000_actions_and_a_poison_is_dead_lettered(
    alice: TestClient, broker_url: str
) -> None:
    api = Api(alice)
    # The model comes from an analytics notebook, run as a run.
    nb = api.notebook("fit", MODEL_NOTEBOOK)
    run = finished_run(alice, api.call("POST", f"/notebooks/{nb}/runs")["id"])
    assert run["status"] == "succeeded", run

    queue = f"plays-{uuid.uuid4().hex[:6]}"
    stream = api.call(
        "POST",
        "/streams",
        json={"name": "plays", "type": "amqp", "uri": broker_url, "queue": queue},
    )
    assert "guest:***@" in stream["uri"]
    proc = api.notebook("predict", PROCESSING_NOTEBOOK)
    pid = api.call(
        "POST", "/processors", json={"notebook_id": proc, "stream": "plays", "max_retries": 1}
    )["id"]
    api.wait(pid, lambda p: p["status"] == "running", 120)

    sent = 5000
    bodies = [json.dumps({"n": n, "yards": n % 100}).encode() for n in range(sent)]
    bodies.insert(2500, b"this is no play")
    publish(broker_url, queue, bodies)
    done = api.wait(pid, lambda p: p["processed"] + p["dead_lettered"] >= sent + 1, 180)
    actions = api.actions(pid)
    counts = Counter(a["data"]["n"] for a in actions)
    print(
        f"\nsent {sent + 1} (1 poison), processed {done['processed']}, "
        f"dead-lettered {done['dead_lettered']}, actions {len(actions)}, "
        f"lost {sent - len(counts)}, twice {sum(1 for c in counts.values() if c > 1)}"
    )
    assert set(counts) == set(range(sent)), "none lost"
    assert max(counts.values()) == 1, "none twice"
    assert done["processed"] == sent and done["dead_lettered"] == 1
    assert {a["data"]["label"] for a in actions if a["data"]["n"] % 100 >= 50} == {1}
    letters = api.call("GET", f"/processors/{pid}/dead-letters")["items"]
    assert len(letters) == 1 and letters[0]["body"] == "this is no play"
    assert "TypeError" in letters[0]["error"] and "on_batch" in letters[0]["traceback"]
    tail = api.call("GET", "/streams/plays/tail", params={"n": 5})["items"]
    assert len(tail) == 5
    # Publishing through the API goes onto the broker, and so to the processor.
    api.call("POST", "/streams/plays/messages", json={"n": sent, "yards": 99})
    api.wait(pid, lambda p: p["processed"] == sent + 1, 30)
    api.call("DELETE", f"/processors/{pid}")


def test_an_unreachable_broker_is_a_clear_422(alice: TestClient, broker_url: str) -> None:
    r = alice.post(
        "/api/v1/streams",
        json={"name": "s", "type": "amqp", "uri": "amqp://guest:guest@127.0.0.1:1/", "queue": "q"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_stream"
    wrong = broker_url.replace("guest:guest", "guest:wrong")
    r = alice.post(
        "/api/v1/streams", json={"name": "s", "type": "amqp", "uri": wrong, "queue": "q"}
    )
    assert r.status_code == 422, r.text
    r = alice.post(
        "/api/v1/streams",
        json={"name": "s", "type": "amqp", "uri": broker_url, "exchange": "no.such.exchange"},
    )
    assert r.status_code == 422 and "no.such.exchange" in r.json()["error"]["message"]


SLOW_HANDLER = """
import time
from suricate import sdk

def on_message(msg):
    time.sleep(0.002)
    sdk.action("seen", n=msg.body["n"])
"""


def test_a_processor_survives_a_server_restart(
    start_server: Callable[..., Server], remote: Any
) -> None:
    server = start_server()
    api = remote(server.url, server.headers())
    rows = "n\n" + "".join(f"{n}\n" for n in range(400))
    api.call("PUT", "/objects/numbers.csv", content=rows.encode())
    api.call(
        "POST",
        "/streams",
        json={"name": "numbers", "type": "replay", "object": "numbers.csv", "rate": 100},
    )
    nb = api.notebook("count", SLOW_HANDLER)
    pid = api.call("POST", "/processors", json={"notebook_id": nb, "stream": "numbers"})["id"]
    api.wait(pid, lambda p: p["processed"] >= 100, 60)
    server.process.terminate()
    server.process.wait(timeout=30)
    process, url = restart_server(server)
    try:
        api = remote(url, server.headers())
        done = api.wait(pid, lambda p: p["position"] >= 400 and p["status"] == "running", 120)
        counts = Counter(a["data"]["n"] for a in api.actions(pid))
        assert set(counts) == set(range(400)), "every record, across the restart"
        assert done["restarts"] == 1
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("replicas", [2])
def test_replicas_share_a_stream_across_nodes(cluster: Any, remote: Any, replicas: int) -> None:
    server, start_node = cluster
    start_node()
    start_node()
    api = remote(server.url, server.headers())
    broker = server.env["SURICATE_BROKER_URL"]
    queue = f"shared-{uuid.uuid4().hex[:6]}"
    api.call("POST", "/streams", json={"name": "s", "type": "amqp", "uri": broker, "queue": queue})
    nb = api.notebook("watch", SLOW_HANDLER)
    pid = api.call(
        "POST", "/processors", json={"notebook_id": nb, "stream": "s", "replicas": replicas}
    )["id"]
    proc = api.wait(pid, lambda p: p["status"] == "running", 120)
    assert len(proc["nodes"]) == 2, "one instance on each node"
    publish(broker, queue, [json.dumps({"n": n}).encode() for n in range(1000)])
    api.wait(pid, lambda p: p["processed"] >= 1000, 120)
    counts = Counter(a["data"]["n"] for a in api.actions(pid))
    assert set(counts) == set(range(1000)) and max(counts.values()) == 1


def test_an_mqtt_stream_feeds_a_processor(alice: TestClient) -> None:
    require(mqtt_reachable(), f"Mosquitto is not reachable at {MQTT}")
    api = Api(alice)
    topic = f"suricate/test/{uuid.uuid4().hex[:6]}"
    api.call("POST", "/streams", json={"name": "m", "type": "mqtt", "uri": MQTT, "topic": topic})
    nb = api.notebook("watch", SLOW_HANDLER)
    pid = api.call("POST", "/processors", json={"notebook_id": nb, "stream": "m"})["id"]
    api.wait(pid, lambda p: p["status"] == "running", 120)
    for n in range(50):
        api.call("POST", "/streams/m/messages", json={"n": n})
    api.wait(pid, lambda p: p["processed"] >= 50, 60)
    counts = Counter(a["data"]["n"] for a in api.actions(pid))
    assert set(counts) == set(range(50)) and max(counts.values()) == 1
    r = alice.post(
        "/api/v1/streams",
        json={"name": "bad", "type": "mqtt", "uri": "mqtt://127.0.0.1:1", "topic": "t"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_stream"


def test_a_broker_side_connection_close_loses_no_message(
    alice: TestClient, broker_url: str
) -> None:
    import shutil
    import subprocess

    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.skip("rabbitmqctl is not installed")
    api = Api(alice)
    vhost = broker_url.rsplit("/", 1)[1]
    queue = f"closed-{uuid.uuid4().hex[:6]}"
    api.call(
        "POST", "/streams", json={"name": "s", "type": "amqp", "uri": broker_url, "queue": queue}
    )
    pid = api.call(
        "POST", "/processors", json={"notebook_id": api.notebook("w", SLOW_HANDLER), "stream": "s"}
    )["id"]
    api.wait(pid, lambda p: p["status"] == "running", 120)
    sent = 3000
    publish(broker_url, queue, [json.dumps({"n": n}).encode() for n in range(sent)])
    api.wait(pid, lambda p: p["processed"] >= 500, 60)
    # The broker closes the stream's connection (as on a broker restart or a network cut).
    subprocess.run(
        [ctl, "close_all_connections", "--vhost", vhost, "closed by the test"],
        check=True,
        capture_output=True,
    )
    done = api.wait(pid, lambda p: len({a["data"]["n"] for a in api.actions(pid)}) >= sent, 120)
    counts = Counter(a["data"]["n"] for a in api.actions(pid))
    print(
        f"\nsent {sent}, processed {done['processed']}, redelivered {done['redelivered']}, "
        f"lost {sent - len(counts)}, handled twice {sum(1 for c in counts.values() if c > 1)}"
    )
    assert set(counts) == set(range(sent))
    assert done["status"] == "running"


FOLLOWER = """
from suricate import sdk
m = sdk.load_model("m@champion")
def on_message(msg):
    sdk.action("seen", n=msg.body["n"], said=m["v"])
"""


def test_a_processor_on_rabbitmq_follows_its_alias_while_messages_flow(
    alice: TestClient, broker_url: str
) -> None:
    import io
    import threading
    from datetime import UTC, datetime, timedelta

    for v in (1, 2):
        r = alice.post(
            "/api/v1/models/m/versions",
            data={"flavor": "json"},
            files={"artifact": ("m.json", io.BytesIO(json.dumps({"v": v}).encode()))},
        )
        assert r.status_code == 201, r.text
    alice.put("/api/v1/models/m/aliases/champion", json={"version": 1})
    api = Api(alice)
    queue = f"swap-{uuid.uuid4().hex[:6]}"
    api.call(
        "POST", "/streams", json={"name": "s", "type": "amqp", "uri": broker_url, "queue": queue}
    )
    pid = api.call(
        "POST", "/processors", json={"notebook_id": api.notebook("f", FOLLOWER), "stream": "s"}
    )["id"]
    api.wait(pid, lambda p: p["status"] == "running", 120)
    sent = 3000
    publish(broker_url, queue, [json.dumps({"n": n}).encode() for n in range(1000)])
    api.wait(pid, lambda p: p["processed"] >= 1000, 120)
    rest = threading.Thread(
        target=publish,
        args=(broker_url, queue, [json.dumps({"n": n}).encode() for n in range(1000, sent)]),
    )
    rest.start()
    api.wait(pid, lambda p: p["processed"] >= 1300, 120)  # messages flow: move the alias now
    moved_at = datetime.now(UTC)
    assert alice.put("/api/v1/models/m/aliases/champion", json={"version": 2}).status_code == 200
    rest.join(120)
    done = api.wait(pid, lambda p: p["processed"] >= sent, 180)
    assert done["restarts"] == 0 and done["failed"] == 0 and done["processed"] == sent
    actions = sorted(api.actions(pid), key=lambda a: a["id"])
    assert Counter(a["data"]["n"] for a in actions) == Counter(range(sent))  # each once
    said = [a["data"]["said"] for a in actions]
    switch = said.index(2)
    assert set(said[:switch]) == {1} and set(said[switch:]) == {2}  # one move, between messages
    assert all(a["models"] == {"m": a["data"]["said"]} for a in actions)  # stamped both sides
    late = moved_at + timedelta(seconds=2)
    stale = [
        a
        for a in actions
        if a["data"]["said"] == 1 and datetime.fromisoformat(a["created_at"]) > late
    ]
    assert stale == [], f"{len(stale)} actions with the old version more than 2 s after the move"
    api.call("DELETE", f"/processors/{pid}")
