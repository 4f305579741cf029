"""What operators watch: readiness, Prometheus metrics, request ids and JSON logs."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from types import SimpleNamespace

from fastapi.testclient import TestClient
from pydantic import SecretStr

from suricate.server.app import create_app
from suricate.server.observability import Metrics, configure_logging
from suricate.server.platform import Platform
from suricate.settings import Settings


def test_ready_checks_the_database_and_the_bus(app_client: TestClient) -> None:
    r = app_client.get("/api/v1/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def test_metrics_count_requests_by_route_template(alice: TestClient) -> None:
    alice.put("/api/v1/objects/a.csv", content=b"x\n1\n")
    alice.get("/api/v1/objects/a.csv")
    alice.get("/api/v1/objects/nope.csv")
    text = alice.get("/metrics").text
    assert (
        'suricate_http_requests_total{method="GET",route="/api/v1/objects/{name}",status="404"} 1.0'
        in text
    )
    assert 'route="/api/v1/objects/{name}",status="200"' in text
    assert "suricate_http_request_duration_seconds_bucket" in text
    assert "suricate_runs" in text and "suricate_kernels_open" in text


def test_metrics_token_guards_metrics(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, metrics_token=SecretStr("s3cret"))
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and "suricate_http_requests_total" in ok.text


def test_request_ids_are_echoed_and_logged_as_json(app_client: TestClient) -> None:
    stream = io.StringIO()
    configure_logging("info", "json")
    root = logging.getLogger()
    saved = root.handlers[0].stream  # type: ignore[attr-defined]
    root.handlers[0].stream = stream  # type: ignore[attr-defined]
    try:
        r = app_client.get("/api/v1/health", headers={"X-Request-ID": "req-42"})
        fresh = app_client.get("/api/v1/health", headers={"X-Request-ID": "bad id\nwith newline"})
    finally:
        root.handlers[0].stream = saved  # type: ignore[attr-defined]
        root.handlers[:] = []
    assert r.headers["x-request-id"] == "req-42"
    assert fresh.headers["x-request-id"] != "bad id\nwith newline"  # never echo junk
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "suricate.access"]
    assert access[0]["request_id"] == "req-42"
    assert access[0]["status"] == 200 and access[0]["route"] == "/api/v1/health"
    assert {"time", "level", "message"} <= access[0].keys()


def test_open_metrics_carry_no_tenant_processor_or_stream_names(
    alice: TestClient, bob: TestClient
) -> None:
    alice.put("/api/v1/objects/secret-plan.csv", content=b"x\n1\n")
    bob.post("/api/v1/actions", json={"text": "hello"})
    text = alice.get("/metrics").text
    for name in ("acme", "globex", "alice", "bob", "secret-plan", "tenant="):
        assert name not in text, name
    assert "suricate_runs" in text and "suricate_kernels_open" in text
    assert "suricate_processors_running" in text


class _OpenSessions:
    def open_by_tenant(self) -> dict[str, int]:
        return {"acme": 2, "globex": 1}


def test_protected_metrics_are_per_tenant_and_open_ones_are_sums(platform: Platform) -> None:
    from prometheus_client import generate_latest

    # The figures come from the running services; these two stand in for them.
    platform.compute = SimpleNamespace(  # type: ignore[assignment]
        sessions=_OpenSessions(), processors=SimpleNamespace(live_infos=list)
    )
    open_text = generate_latest(Metrics(platform, per_tenant=False).registry).decode()
    assert "suricate_kernels_open 3.0" in open_text and "acme" not in open_text
    named = generate_latest(Metrics(platform, per_tenant=True).registry).decode()
    assert 'suricate_kernels_open{tenant="acme"} 2.0' in named
    assert 'suricate_kernels_open{tenant="globex"} 1.0' in named
