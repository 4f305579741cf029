"""A cell's round trip answered without FastAPI's routing, and the cases left to the route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from suricate.node.sandbox import bwrap_path
from tests.support import PASSWORD

pytestmark = [
    pytest.mark.sqlite_only("one kernel; SQLite alone keeps it quick"),
    pytest.mark.settings(kernel_pool_size=0, max_json_bytes=4096),
    pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed"),
]


def test_execute_answers_alike_directly_and_through_the_route(
    alice: TestClient, bob: TestClient, app_client: TestClient
) -> None:
    s = alice.post("/api/v1/sessions").json()["id"]
    url = f"/api/v1/sessions/{s}/execute"
    direct = alice.post(url, json={"code": "print('hé')\n6 * 7", "timeout": 30})
    assert direct.status_code == 200
    assert direct.headers["content-type"] == "application/json"
    assert direct.headers["x-content-type-options"] == "nosniff"  # the middlewares still apply
    assert len(direct.headers["x-request-id"]) == 32
    # A cookie session goes to the FastAPI route: the same answer, byte for byte but the count.
    login = app_client.post("/api/v1/auth/login", json={"user": "alice", "password": PASSWORD})
    csrf = login.json()["csrf_token"]
    routed = app_client.post(
        url, json={"code": "print('hé')\n6 * 7", "timeout": 30}, headers={"X-CSRF-Token": csrf}
    )
    assert routed.status_code == 200, routed.text
    assert routed.headers["content-type"] == direct.headers["content-type"]
    count = routed.json()["execution_count"]
    assert routed.content == direct.content.replace(
        b'"execution_count":%d' % (count - 1), b'"execution_count":%d' % count
    )

    # Errors have the one shape, as from the route.
    assert bob.post(url, json={"code": "1"}).json()["error"]["code"] == "session_not_found"
    bad = TestClient(alice.app, raise_server_exceptions=False)
    bad.portal = alice.portal
    unknown = bad.post(url, json={"code": "1"}, headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401 and unknown.headers["www-authenticate"] == "Bearer"
    kernel = alice.post(url, json={"code": "import os; os.environ['SURICATE_TOKEN']"})
    sdk_token = kernel.json()["outputs"][0]["data"]["text/plain"].strip("'")
    refused = bad.post(url, json={"code": "1"}, headers={"Authorization": f"Bearer {sdk_token}"})
    assert refused.status_code == 403  # a kernel's token reaches only the SDK's data routes

    # Bodies the direct path does not take: the route's own 422, 400 and 413.
    invalid = alice.post(url, json={"code": "1", "timeout": -1})
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_input"
    assert "timeout" in invalid.json()["error"]["message"]
    broken = alice.post(url, content=b"{", headers={"Content-Type": "application/json"})
    assert broken.status_code in (400, 422) and "error" in broken.json()
    huge = alice.post(url, json={"code": "x" * 10_000})
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"
    # After all that the session still answers, and metrics name the route's template.
    assert alice.post(url, json={"code": "1"}).json()["status"] == "ok"
    text = alice.get("/metrics").text
    assert 'route="/api/v1/sessions/{session_id}/execute",status="200"' in text
