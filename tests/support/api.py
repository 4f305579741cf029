"""The REST API as tests drive it, whether through Starlette's test client or over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.support.wait import wait_until

UNFINISHED = ("queued", "running")


def finished_run(
    client: TestClient | httpx.Client, run_id: str, timeout: float = 60, interval: float = 0.1
) -> dict[str, Any]:
    """Wait until a run is over, however it ended; its record."""
    return wait_until(
        lambda: dict(client.get(f"/api/v1/runs/{run_id}").json()),
        until=lambda run: run["status"] not in UNFINISHED,
        timeout=timeout,
        interval=interval,
        message="run never finished",
    )
