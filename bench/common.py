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
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class Served:
    url: str
    token: str
    work: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(**settings: str) -> Iterator[Served]:
    """Run `suricate serve` in a scratch data dir with a user `bench`; yield its URL and token."""
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
        yield Served(url, token, work)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
