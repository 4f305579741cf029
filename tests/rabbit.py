"""RabbitMQ for process-level tests: a vhost per test, and a server with execution nodes."""

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

import pytest

from tests.servers import Server

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


Nodes = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def cluster_with(
    start_server: Callable[..., Server], broker_url: str, tmp_path: Path
) -> Iterator[Callable[..., tuple[Server, Nodes]]]:
    """Start a server on the test's vhost (with any extra settings) and say how to add nodes."""
    nodes: list[subprocess.Popen[bytes]] = []
    logs = []

    def make(**settings: str) -> tuple[Server, Nodes]:
        server = start_server(
            SURICATE_BROKER_URL=broker_url, SURICATE_KERNEL_POOL_SIZE="0", **settings
        )

        def start_node(*tenants: str, **env: str) -> subprocess.Popen[bytes]:
            log = (tmp_path / f"node{len(nodes)}.log").open("wb")
            logs.append(log)
            args = [a for t in tenants for a in ("--tenant", t)]
            node = subprocess.Popen(
                [sys.executable, "-m", "suricate", "execnode", *args],
                env=server.env | {"SURICATE_URL": server.url, "SURICATE_LOG_LEVEL": "info"} | env,
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

        return server, start_node

    yield make
    for node in nodes:
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
            node.wait(timeout=20)
    for log in logs:
        log.close()


@pytest.fixture
def cluster(cluster_with: Callable[..., tuple[Server, Nodes]]) -> tuple[Server, Nodes]:
    """A server on the test's own vhost, and a way to start execution nodes for it."""
    return cluster_with()
