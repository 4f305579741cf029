"""What the benchmarks share: a real `suricate serve` on embedded defaults, with a user."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class Served:
    url: str
    token: str
    work: Path
    pid: int = 0
    # Tokens of the other users asked for (user name -> token), each in its own tenant.
    tokens: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    """A free port on loopback: ``BENCH_PORT`` when set (a range shared machines agree on)."""
    if os.environ.get("BENCH_PORT"):
        return int(os.environ["BENCH_PORT"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(users: tuple[str, ...] = (), **settings: str) -> Iterator[Served]:
    """Run `suricate serve` in a scratch data dir with a user `bench` (and ``users``, each in a
    tenant of the same name); yield its URL and tokens."""
    work = Path(tempfile.mkdtemp(prefix="suricate-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURICATE_")}
    env |= {
        "SURICATE_DATA_DIR": str(work / "data"),
        "SURICATE_PASSWORD": "bench password",
        "SURICATE_LOG_LEVEL": "warning",
        **settings,
    }
    cli = [sys.executable, "-m", "suricate"]
    subprocess.run(
        [*cli, "user", "create", "bench", "--tenant", "bench"],
        env=env,
        check=True,
        capture_output=True,
    )
    token = subprocess.run(
        [*cli, "token", "create", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    tokens = {}
    for user in users:
        subprocess.run(
            [*cli, "user", "create", user, "--tenant", user],
            env=env,
            check=True,
            capture_output=True,
        )
        tokens[user] = subprocess.run(
            [*cli, "token", "create", user], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=None if env.get("SURICATE_PROFILE") else subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/api/v1/health")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield Served(url, token, work, server.pid, tokens)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
