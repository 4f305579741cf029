"""RabbitMQ for process-level tests: a vhost per test, and a server with execution nodes."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.servers import Server
from tests.support.services import RABBITMQ, rabbitmq_reachable, require
from tests.support.wait import wait_until


@pytest.fixture
def broker_url() -> Iterator[str]:
    """A RabbitMQ vhost of this test's own, so no other node can take its commands."""
    require(rabbitmq_reachable(RABBITMQ + "/"), f"RabbitMQ is not reachable at {RABBITMQ}")
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

    def make(**settings: str) -> tuple[Server, Nodes]:
        server = start_server(
            SURICATE_BROKER_URL=broker_url, SURICATE_KERNEL_POOL_SIZE="0", **settings
        )

        def start_node(*tenants: str, **env: str) -> subprocess.Popen[bytes]:
            log = tmp_path / f"node{len(nodes)}.log"
            args = [a for t in tenants for a in ("--tenant", t)]
            with log.open("wb") as output:  # the child keeps its own copy of the descriptor
                node = subprocess.Popen(
                    [sys.executable, "-m", "suricate", "execnode", *args],
                    env=server.env
                    | {"SURICATE_URL": server.url, "SURICATE_LOG_LEVEL": "info"}
                    | env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            nodes.append(node)
            serving = wait_until(
                lambda: re.search(rb"execution node (\S+) serving", log.read_bytes()),
                timeout=60,
                interval=0.05,
                message=lambda: f"node did not start: {log.read_text()}",
            )
            node.node_id = serving.group(1).decode()  # type: ignore[attr-defined]
            return node

        return server, start_node

    yield make
    for node in nodes:
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
            node.wait(timeout=20)


@pytest.fixture
def cluster(cluster_with: Callable[..., tuple[Server, Nodes]]) -> tuple[Server, Nodes]:
    """A server on the test's own vhost, and a way to start execution nodes for it."""
    return cluster_with()
