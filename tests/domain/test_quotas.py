"""Quotas per user and per tenant: 429 quota_exceeded naming the quota, overrides per tenant,
use against quota in the summary, and kernel limits of runs and processors up to the maximum.

No kernel starts here: every request is refused, or accepted and left queued."""

from __future__ import annotations

import nbformat
import pytest
from fastapi.testclient import TestClient

from suricate.server.platform import Platform

pytestmark = pytest.mark.settings(kernel_pool_size=0)


def notebook(client: TestClient, kind: str = "analytics") -> str:
    nb = nbformat.v4.new_notebook()
    r = client.post("/api/v1/notebooks", json={"name": f"nb-{kind}", "notebook": nb, "kind": kind})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def assert_quota_exceeded(r, quota: str) -> None:
    assert r.status_code == 429, r.text
    assert r.json() == {
        "error": {"code": "quota_exceeded", "message": r.json()["error"]["message"]}
    }
    assert f"quota {quota} exceeded" in r.json()["error"]["message"]


@pytest.mark.settings(quota_sessions_per_user=0)
def test_a_session_past_the_users_quota_is_429(alice: TestClient) -> None:
    assert_quota_exceeded(alice.post("/api/v1/sessions"), "sessions_per_user")


@pytest.mark.settings(quota_kernels_per_tenant=0)
def test_a_session_past_the_tenants_kernels_is_429(alice: TestClient) -> None:
    assert_quota_exceeded(alice.post("/api/v1/sessions"), "kernels")


@pytest.mark.settings(quota_runs_per_tenant=0)
def test_a_run_past_the_tenants_quota_is_429(alice: TestClient) -> None:
    nb = notebook(alice)
    assert_quota_exceeded(alice.post(f"/api/v1/notebooks/{nb}/runs"), "runs")


@pytest.mark.settings(quota_processors_per_tenant=0)
def test_a_processor_past_the_tenants_quota_is_429(alice: TestClient) -> None:
    alice.put("/api/v1/objects/p.csv", content=b"a\n1\n")
    alice.post("/api/v1/streams", json={"name": "s", "type": "replay", "object": "p.csv"})
    nb = notebook(alice, "processing")
    r = alice.post("/api/v1/processors", json={"notebook_id": nb, "stream": "s"})
    assert_quota_exceeded(r, "processors")


def test_an_override_is_the_tenants_own(
    alice: TestClient, bob: TestClient, platform: Platform
) -> None:
    quotas = platform.quotas.set("acme", sessions_per_user=0, kernel_memory_mb=4096)
    assert quotas.sessions_per_user == 0 and quotas.runs == 16
    assert_quota_exceeded(alice.post("/api/v1/sessions"), "sessions_per_user")
    summary = alice.get("/api/v1/summary").json()["quotas"]
    assert summary == {
        "sessions": {"used": 0, "limit": 0},
        "runs": {"used": 0, "limit": 16},
        "processors": {"used": 0, "limit": 16},
        "kernels": {"used": 0, "limit": 32},
    }
    assert bob.get("/api/v1/summary").json()["quotas"]["sessions"] == {"used": 0, "limit": 8}
    # Kernel limits of a run: up to the tenant's maximum (acme's is raised, globex's is not).
    acme_nb, globex_nb = notebook(alice), notebook(bob)
    too_big = bob.post(f"/api/v1/notebooks/{globex_nb}/runs", json={"memory_mb": 4096})
    assert too_big.status_code == 422
    assert "2048 MiB" in too_big.json()["error"]["message"]
    assert bob.post(f"/api/v1/notebooks/{globex_nb}/runs", json={"cpus": 2}).status_code == 422
    platform.quotas.set("acme", runs=0)
    assert_quota_exceeded(
        alice.post(f"/api/v1/notebooks/{acme_nb}/runs", json={"memory_mb": 4096}), "runs"
    )
    assert platform.quotas.set("acme", reset=True) == platform.quotas.defaults


def test_openapi_lists_429_where_a_quota_can_answer_it(alice: TestClient) -> None:
    paths = alice.get("/api/v1/openapi.json").json()["paths"]
    assert "429" in paths["/api/v1/sessions"]["post"]["responses"]
    assert "429" in paths["/api/v1/notebooks/{notebook_id}/runs"]["post"]["responses"]
    assert "429" in paths["/api/v1/processors"]["post"]["responses"]
