"""A real `jupyter server --gateway-url=.../jupyter` runs its kernels on Suricate: its own
gateway client starts a kernel, and cells sent through its REST and WebSocket API run in a
sandboxed Suricate kernel, with the SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.servers import Server, free_port
from tests.support.wait import wait_until

# Two servers and a cold kernel: longer than most tests on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
JUPYTER_TOKEN = uuid.uuid4().hex


@pytest.fixture(params=["embedded", "rabbitmq"])
def jupyter(
    request: pytest.FixtureRequest, start_server: Callable[..., Server], tmp_path: Path
) -> Iterator[tuple[Server, str]]:
    """Suricate (its node in-process, or an execution node over RabbitMQ), and a Jupyter
    server whose kernels are Suricate's (its gateway)."""
    if request.param == "rabbitmq":
        server, start_node = request.getfixturevalue("cluster")
        start_node()
    else:
        server = start_server(SURICATE_KERNEL_POOL_SIZE="0")
    port = free_port()
    home = tmp_path / "jupyter"
    root = home / "notebooks"
    root.mkdir(parents=True)
    env = server.env | {
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    log = (tmp_path / "jupyter.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--gateway-url={server.url}/jupyter",
            f"--GatewayClient.auth_token={server.token}",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--port-retries=0",
            f"--IdentityProvider.token={JUPYTER_TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--no-browser",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/api/status", headers=_auth()).status_code == 200
        except httpx.TransportError:
            return process.poll() is not None  # ended: said below

    try:
        wait_until(up, timeout=60, interval=0.2, message="jupyter server did not start")
        assert process.poll() is None, (tmp_path / "jupyter.log").read_text()[-3000:]
        yield server, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _auth() -> dict[str, str]:
    return {"Authorization": f"token {JUPYTER_TOKEN}"}


def _execute(ws: Any, code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": "test",
                    "session": uuid.uuid4().hex,
                    "date": "2026-01-01T00:00:00.000000Z",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": {"code": code, "silent": False, "store_history": True},
                "channel": "shell",
            }
        )
    )
    reply, iopub, idle = None, [], False
    while reply is None or not idle:
        got = json.loads(ws.recv(timeout=90))
        if got["parent_header"].get("msg_id") != msg_id:
            continue
        if got["channel"] == "iopub":
            iopub.append(got)
            idle = got["msg_type"] == "status" and got["content"]["execution_state"] == "idle"
        elif got["channel"] == "shell":
            reply = got
    return reply, iopub


def test_a_jupyter_server_runs_cells_on_suricates_kernels(jupyter: tuple[Server, str]) -> None:
    server, url = jupyter
    put = httpx.put(
        f"{server.url}/api/v1/objects/plays.csv",
        content=b"down,yards\n3,12\n",
        headers=server.headers(),
    )
    assert put.status_code == 201, put.text

    specs = httpx.get(f"{url}/api/kernelspecs", headers=_auth()).json()
    assert specs["default"] == "python3" and "python3" in specs["kernelspecs"]
    started = httpx.post(
        f"{url}/api/kernels", json={"name": "python3"}, headers=_auth(), timeout=90
    )
    assert started.status_code == 201, started.text
    kernel_id = started.json()["id"]
    # The Jupyter server's kernel is Suricate's session.
    ours = httpx.get(f"{server.url}/jupyter/api/kernels", headers=server.headers()).json()
    assert [k["id"] for k in ours] == [kernel_id]

    ws_url = f"ws://127.0.0.1:{url.rsplit(':', 1)[1]}/api/kernels/{kernel_id}/channels"
    with connect(f"{ws_url}?token={JUPYTER_TOKEN}", open_timeout=30, max_size=None) as ws:
        reply, iopub = _execute(ws, "from suricate import sdk; sdk.list_objects()")
        assert reply["content"]["status"] == "ok", reply
        result = next(m for m in iopub if m["msg_type"] == "execute_result")
        assert "plays.csv" in result["content"]["data"]["text/plain"]
        # Sandboxed: the server's data dir is out of the kernel's sight.
        probe = f"import os; print(os.path.exists({str(server.data_dir.resolve())!r}))"
        reply, iopub = _execute(ws, probe)
        assert [m["content"]["text"] for m in iopub if m["msg_type"] == "stream"] == ["False\n"]

    listed = httpx.get(f"{url}/api/kernels", headers=_auth()).json()
    assert [k["id"] for k in listed] == [kernel_id]
    assert (
        httpx.post(f"{url}/api/kernels/{kernel_id}/interrupt", headers=_auth()).status_code == 204
    )
    assert httpx.delete(f"{url}/api/kernels/{kernel_id}", headers=_auth()).status_code == 204
    assert httpx.get(f"{server.url}/jupyter/api/kernels", headers=server.headers()).json() == []
