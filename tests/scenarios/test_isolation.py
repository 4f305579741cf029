"""Hostile tenants against real `suricate serve` processes and RabbitMQ execution nodes
(issue 13): the sandbox on a separate node, quotas with their defaults and overrides, and what a
killed server leaves behind, cleared by the next one."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from suricate.node import cgroups
from suricate.node.sandbox import BASE_PREFIX, OWNER_FILE, bwrap_path, mounts_under
from tests.support import hostile
from tests.support.servers import Server, restart_server
from tests.support.wait import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bwrap_path() is None or os.geteuid() != 0 or cgroups.detect().version is None,
        reason="the full sandbox needs bubblewrap, root (or CAP_SYS_ADMIN) and cgroups",
    ),
]


def session(server: Server) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/sessions", headers=server.headers(), timeout=120)


def execute(server: Server, session_id: str, code: str) -> dict:
    r = httpx.post(
        f"{server.url}/api/v1/sessions/{session_id}/execute",
        json={"code": code},
        headers=server.headers(),
        timeout=180,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_hostile_notebook_on_a_rabbitmq_execution_node_stays_confined(cluster_with) -> None:
    server, start_node = cluster_with(
        SURICATE_KERNEL_SANDBOX="bwrap",
        SURICATE_KERNEL_MEMORY_MB="512",
        SURICATE_KERNEL_SCRATCH_MB="256",
    )
    start_node()
    r = session(server)
    assert r.status_code == 201, r.text
    s = r.json()["id"]
    hostile.assert_confined(hostile.result_of(execute(server, s, hostile.IDENTITY)))
    hostile.venv_untouched()
    bomb = hostile.result_of(execute(server, s, hostile.FORK_BOMB))
    assert 200 < bomb["started"] < 256 and bomb["error"]["errno"] == 11, bomb
    filled = hostile.result_of(execute(server, s, hostile.fill("/tmp/big", 3072)))
    assert filled["error"]["errno"] == "ENOSPC", filled
    assert 200 <= filled["written_mb"] <= 256, filled
    execute(server, s, "x = 1")
    died = execute(server, s, hostile.memory_hogs(3, 400))
    assert died["ename"] == "KernelDied", died
    assert "512 MiB" in died["evalue"], died["evalue"]
    after = execute(server, s, "'x' in globals()")
    assert after["outputs"][0]["data"]["text/plain"] == "False"
    assert httpx.get(f"{server.url}/api/v1/health").status_code == 200


def test_the_ninth_session_of_a_user_is_429_quota_exceeded(start_server) -> None:
    server = start_server()
    opened = []
    for _ in range(8):
        r = session(server)
        assert r.status_code == 201, r.text
        opened.append(r.json()["id"])
    ninth = session(server)
    assert ninth.status_code == 429, ninth.text
    error = ninth.json()["error"]
    assert set(ninth.json()) == {"error"} and error["code"] == "quota_exceeded"
    assert "sessions_per_user" in error["message"] and "8" in error["message"]
    summary = httpx.get(f"{server.url}/api/v1/summary", headers=server.headers()).json()
    assert summary["quotas"]["sessions"] == {"used": 8, "limit": 8}
    assert summary["quotas"]["kernels"]["used"] == 8
    # Closing one makes room again.
    closed = httpx.delete(f"{server.url}/api/v1/sessions/{opened[0]}", headers=server.headers())
    assert closed.status_code == 204
    assert session(server).status_code == 201


def test_an_administrator_overrides_a_tenants_quotas(start_server) -> None:
    server = start_server(SURICATE_KERNEL_POOL_SIZE="0")
    shown = server.cli("tenant", "quota", "acme", "--sessions-per-user", "1", "--runs", "0")
    assert shown.returncode == 0, shown.stderr
    assert "sessions_per_user\t1" in shown.stdout and "runs\t0" in shown.stdout
    assert session(server).status_code == 201
    second = session(server)
    assert second.status_code == 429 and second.json()["error"]["code"] == "quota_exceeded"
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    created = httpx.post(
        f"{server.url}/api/v1/notebooks",
        json={"name": "n", "notebook": nb},
        headers=server.headers(),
    )
    run = httpx.post(
        f"{server.url}/api/v1/notebooks/{created.json()['id']}/runs", headers=server.headers()
    )
    assert run.status_code == 429 and "runs" in run.json()["error"]["message"]
    summary = httpx.get(f"{server.url}/api/v1/summary", headers=server.headers()).json()
    assert summary["quotas"]["sessions"] == {"used": 1, "limit": 1}
    assert summary["quotas"]["runs"] == {"used": 0, "limit": 0}
    reset = server.cli("tenant", "quota", "acme", "--reset")
    assert "sessions_per_user\t8" in reset.stdout


def _owned_by(pid: int) -> list[Path]:
    found = []
    for path in Path("/tmp").glob("suricate-*"):
        try:
            owner = json.loads((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if owner["pid"] == pid:
            found.append(path)
    return found


def test_what_a_killed_server_left_is_removed_when_the_next_one_starts(start_server) -> None:
    server = start_server(SURICATE_KERNEL_POOL_SIZE="0")
    r = session(server)
    assert r.status_code == 201
    left = _owned_by(server.process.pid)
    base = next(p for p in left if p.name.startswith(BASE_PREFIX))
    assert any(p.name.startswith("suricate-api-") for p in left)
    # A kernel's runtime dir (below its template's when forked) with its connection file.
    assert [*base.glob("*/connection.json"), *base.glob("*/*/connection.json")]
    tag = base.name.removeprefix(BASE_PREFIX)
    layout = cgroups.detect()
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    assert mounts_under(base), "the runtime tmpfs outlives a killed server"
    assert cgroups.leftovers(layout, f"k-{tag}-")
    process, _ = restart_server(server)
    try:
        assert not any(p.exists() for p in left), left
        assert not mounts_under(base)
        wait_until(lambda: not cgroups.leftovers(layout, f"k-{tag}-"), timeout=10)
    finally:
        process.terminate()
        process.wait(timeout=20)
