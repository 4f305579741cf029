"""Real `suricate serve` processes for process-level tests, started through the CLI as a user
would, each on a free port with a data dir of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import LOOPBACK_ALLOWED, PASSWORD
from tests.support.wait import wait_until


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


def clean_env(data_dir: Path) -> dict[str, str]:
    """This environment without any SURICATE_* setting of the machine's, and a data dir.

    ``SURICATE_KERNEL_FORK`` alone is kept: the kernel tests run in both modes with it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURICATE_")}
    if "SURICATE_KERNEL_FORK" in os.environ:
        env["SURICATE_KERNEL_FORK"] = os.environ["SURICATE_KERNEL_FORK"]
    # Brokers and webhook receivers of the tests listen on loopback: allowed explicitly.
    return env | {
        "SURICATE_DATA_DIR": str(data_dir),
        "SURICATE_OUTBOUND_ALLOWED_HOSTS": LOOPBACK_ALLOWED,
    }


def suricate(env: dict[str, str], *args: str) -> str:
    """Run an administrative `suricate` command (user, tenant, token); its output."""
    result = subprocess.run(
        [sys.executable, "-m", "suricate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def server_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/health").status_code == 200
    except httpx.TransportError:
        return False


def serve(
    env: dict[str, str], port: int, log: Path | None = None, timeout: float = 30
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `suricate serve` on `port` (its output to `log`) and wait until it answers.

    The timeout is generous: on a busy machine a cold start (imports, migrations) takes seconds.
    """
    output = log.open("wb") if log else None
    try:  # the child keeps its own copy of the log's descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "suricate", "serve", "--port", str(port)],
            env=env,
            stdout=output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
    finally:
        if output:
            output.close()
    url = f"http://127.0.0.1:{port}"

    def why() -> str:
        return "server did not start" + (f": {log.read_text()[-2000:]}" if log else "")

    try:
        wait_until(lambda: server_up(url), timeout=timeout, interval=0.05, message=why)
    except AssertionError:
        process.kill()
        process.wait()
        raise
    return process, url


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers with user alice in tenant acme, and any SURICATE_* settings given."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> Server:
        data_dir = tmp_path / f"data{len(processes)}"
        env = clean_env(data_dir) | {"SURICATE_PASSWORD": PASSWORD} | settings
        suricate(env, "user", "create", "alice", "--tenant", "acme")
        token = suricate(env, "token", "create", "alice")
        process, url = serve(env, free_port(), tmp_path / f"server{len(processes)}.log")
        processes.append(process)
        return Server(url, token, data_dir, env, process)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def restart_server(server: Server, same_port: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server again on the same data dir (the old process must be gone)."""
    port = int(server.url.rsplit(":", 1)[1]) if same_port else free_port()
    return serve(server.env, port)
