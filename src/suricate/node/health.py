"""An execution node's HTTP face for operators: liveness, readiness and Prometheus metrics.

Served only when ``SURICATE_NODE_HEALTH_PORT`` is set (a node otherwise listens on nothing; it
talks to the frontend through RabbitMQ). ``/healthz`` answers from the node's own event loop, so
a wedged loop fails the liveness probe; ``/readyz`` is 503 while the broker connection is down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from suricate.node.node import ExecNode
    from suricate.wire.rabbitmq import RabbitNodeServer


class _NodeCollector(Collector):
    def __init__(self, node: ExecNode) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        for name, value in self.node.figures().items():
            family = GaugeMetricFamily(
                f"suricate_node_{name}",
                f"What this node holds: {name.replace('_', ' ')}.",
                labels=["node"],
            )
            family.add_metric([self.node.id], value)
            yield family


class HealthServer:
    def __init__(self, server: object, task: asyncio.Task[None]) -> None:
        self._server = server
        self._task = task

    async def stop(self) -> None:
        self._server.should_exit = True  # type: ignore[attr-defined]
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(self._task, timeout=5)


def health_app(node: ExecNode, server: RabbitNodeServer) -> Starlette:
    registry = CollectorRegistry()
    registry.register(_NodeCollector(node))

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "node": node.id})

    async def readyz(request: Request) -> JSONResponse:
        ok = server.connected()
        body = {"status": "ready" if ok else "not_ready", "node": node.id, "broker": ok}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    )


async def serve_health(node: ExecNode, server: RabbitNodeServer, port: int) -> HealthServer:
    """Serve the node's health routes on all interfaces at ``port`` (uvicorn, this loop)."""
    import uvicorn

    config = uvicorn.Config(
        health_app(node, server), host="0.0.0.0", port=port, log_config=None, access_log=False
    )

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the node's own loop handles SIGTERM and SIGINT

    http = _Server(config)
    task = asyncio.create_task(http.serve())
    while not http.started and not task.done():
        await asyncio.sleep(0.05)
    if task.done():
        task.result()  # raises why it could not start (port taken...)
    return HealthServer(http, task)
