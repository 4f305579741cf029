"""Execution nodes over the real RabbitMQ: `suricate serve` plus two `suricate execnode`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, start_server

__all__ = ["start_server"]

RABBITMQ = os.environ.get("SURICATE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")


def _reachable(url: str) -> bool:
    import asyncio

    import aio_pika

    async def probe() -> None:
        connection = await aio_pika.connect(url, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
        return True
    except Exception:
        return False


@pytest.fixture
def broker_url() -> Iterator[str]:
    """A RabbitMQ vhost of this test's own, so no other node can take its commands."""
    if not _reachable(RABBITMQ + "/"):
        if os.environ.get("CI"):
            pytest.fail(f"RabbitMQ is not reachable at {RABBITMQ}; CI must test it")
        pytest.skip(f"RabbitMQ is not reachable at {RABBITMQ}")
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        yield RABBITMQ + "/"
        return
    vhost = f"suricate-test-{uuid.uuid4().hex[:8]}"
    subprocess.run([ctl, "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(
        [ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    yield f"{RABBITMQ}/{vhost}"
    subprocess.run([ctl, "delete_vhost", vhost], capture_output=True)


@pytest.fixture
def cluster(
    start_server: Callable[..., Server], broker_url: str, tmp_path: Path
) -> Iterator[tuple[Server, Callable[..., subprocess.Popen[bytes]]]]:
    server = start_server(SURICATE_BROKER_URL=broker_url, SURICATE_KERNEL_POOL_SIZE="0")
    nodes: list[subprocess.Popen[bytes]] = []
    logs = []

    def start_node(*tenants: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"node{len(nodes)}.log").open("wb")
        logs.append(log)
        args = [a for t in tenants for a in ("--tenant", t)]
        node = subprocess.Popen(
            [sys.executable, "-m", "suricate", "execnode", *args],
            env=server.env | {"SURICATE_URL": server.url, "SURICATE_LOG_LEVEL": "info"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        nodes.append(node)
        log_path = Path(log.name)
        for _ in range(400):
            found = re.search(rb"execution node (\S+) serving", log_path.read_bytes())
            if found:
                node.node_id = found.group(1).decode()  # type: ignore[attr-defined]
                return node
            time.sleep(0.05)
        raise RuntimeError(f"node did not start: {log_path.read_text()}")

    yield server, start_node
    for node in nodes:
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
            node.wait(timeout=20)
    for log in logs:
        log.close()


def execute(server: Server, session: str, code: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/sessions/{session}/execute",
        json={"code": code},
        headers=server.headers(),
        timeout=120,
    )


def test_two_nodes_share_a_tenant_and_a_killed_node_leaves_the_other_serving(cluster) -> None:
    server, start_node = cluster
    nodes = [start_node(), start_node()]
    httpx.put(
        f"{server.url}/api/v1/objects/d.csv", content=b"x,y\n1,2\n3,4\n", headers=server.headers()
    )
    sessions: dict[str, str] = {}
    for _ in range(8):
        r = httpx.post(f"{server.url}/api/v1/sessions", headers=server.headers(), timeout=120)
        assert r.status_code == 201, r.text
        sessions[r.json()["id"]] = r.json()["node"]
        if len(set(sessions.values())) == 2:
            break
    assert len(set(sessions.values())) == 2, "both nodes take sessions"

    for session in sessions:
        r = execute(server, session, "from suricate import sdk\nint(sdk.read_csv('d.csv').x.sum())")
        assert r.json()["status"] == "ok", r.text
        assert r.json()["outputs"][0]["data"]["text/plain"] == "4"

    # Kill -9 the node of one session: that session is over (404), the others go on.
    victim, doomed = next(iter(sessions.items()))
    survivor = next(s for s, n in sessions.items() if n != doomed)
    node = next(n for n in nodes if n.node_id == doomed)  # type: ignore[attr-defined]
    node.kill()
    node.wait()
    time.sleep(0.5)  # the broker drops the dead node's queue when its connection closes
    gone = execute(server, victim, "1")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "session_not_found"
    ok = execute(server, survivor, "1 + 1")
    assert ok.status_code == 200
    assert ok.json()["outputs"][0]["data"]["text/plain"] == "2"
    again = httpx.post(f"{server.url}/api/v1/sessions", headers=server.headers(), timeout=120)
    assert again.status_code == 201


def test_a_dedicated_node_serves_its_tenant(cluster) -> None:
    server, start_node = cluster
    start_node("acme")
    r = httpx.post(f"{server.url}/api/v1/sessions", headers=server.headers(), timeout=120)
    assert r.status_code == 201, r.text
    assert (
        execute(server, r.json()["id"], "6 * 7").json()["outputs"][0]["data"]["text/plain"] == "42"
    )


def test_execnode_without_a_broker_is_a_clear_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURICATE_")}
    result = subprocess.run(
        [sys.executable, "-m", "suricate", "execnode"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "SURICATE_BROKER_URL" in result.stderr


def test_a_run_whose_node_is_killed_is_retried_on_another_node(cluster) -> None:
    import json as jsonlib

    import nbformat

    server, start_node = cluster
    nodes = [start_node(), start_node()]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(6)\nprint('done')")]
    nb_id = httpx.post(
        f"{server.url}/api/v1/notebooks",
        json={"name": "slow", "notebook": jsonlib.loads(nbformat.writes(nb))},
        headers=server.headers(),
    ).json()["id"]
    run_id = httpx.post(
        f"{server.url}/api/v1/notebooks/{nb_id}/runs", headers=server.headers()
    ).json()["id"]

    def run() -> dict:
        return httpx.get(f"{server.url}/api/v1/runs/{run_id}", headers=server.headers()).json()

    for _ in range(200):
        if run()["status"] == "running":
            break
        time.sleep(0.05)
    sessions: list[dict] = []
    for _ in range(300):  # the run's session: its node holds the sleeping cell
        sessions = httpx.get(f"{server.url}/api/v1/sessions", headers=server.headers()).json()[
            "items"
        ]
        if sessions and run()["cells_done"] == 0:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    holder = sessions[0]["node"]
    victim = next(n for n in nodes if n.node_id == holder)  # type: ignore[attr-defined]
    victim.kill()
    victim.wait()
    for _ in range(600):
        record = run()
        if record["status"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    assert record["status"] == "succeeded", (record["error"], record["attempt"])
    assert record["attempt"] == 2
