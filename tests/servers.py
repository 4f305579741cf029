"""Real `suricate serve` (and `suricate execnode`) processes for process-level tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PASSWORD = "correct horse battery"
LOOPBACK_ALLOWED = "127.0.0.1,localhost"


@dataclass
class Server:
    url: str
    token: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def cli(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        env = self.env | {"SURICATE_URL": self.url, "SURICATE_TOKEN": self.token}
        return subprocess.run(
            [sys.executable, "-m", "suricate", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            **kw,  # type: ignore[arg-type]
        )

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def staged_files(self) -> list[Path]:
        return list((self.data_dir / "objects" / "staging").iterdir())

    def blobs(self) -> list[Path]:
        return [p for p in (self.data_dir / "objects" / "blobs").rglob("*") if p.is_file()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "suricate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[object] = []

    def start(**settings: str) -> Server:
        data_dir = tmp_path / f"data{len(processes)}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SURICATE_")}
        env |= {
            "SURICATE_DATA_DIR": str(data_dir),
            "SURICATE_PASSWORD": PASSWORD,
            # Brokers and webhook receivers of the tests listen on loopback: allowed explicitly.
            "SURICATE_OUTBOUND_ALLOWED_HOSTS": LOOPBACK_ALLOWED,
            **settings,
        }
        _run(env, "user", "create", "alice", "--tenant", "acme")
        token = _run(env, "token", "create", "alice")
        port = free_port()
        log = (tmp_path / f"server{len(processes)}.log").open("wb")
        logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "suricate", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{url}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("server did not start")
        return Server(url, token, data_dir, env, process)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
    for log in logs:
        log.close()  # type: ignore[attr-defined]


def server_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/health").status_code == 200
    except httpx.TransportError:
        return False


def restart_server(server: Server, same_port: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server again on the same data dir (the old process must be gone)."""
    port = int(server.url.rsplit(":", 1)[1]) if same_port else free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "suricate", "serve", "--port", str(port)],
        env=server.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if server_up(url):
            return process, url
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("restarted server did not come up")
