"""Execution nodes over the real RabbitMQ: `suricate serve` plus two `suricate execnode`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.support.servers import Server


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
