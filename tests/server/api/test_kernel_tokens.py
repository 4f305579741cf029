"""Kernels' tokens are scoped: the SDK's data routes only, through the socket and over TCP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from suricate.domain.auth import SDK_SCOPE
from suricate.node.gateway import sdk_only
from suricate.server.platform import Platform
from tests.conftest import PASSWORD


def _kernel_client(
    platform: Platform, app_client: TestClient, user: str, tenant_id: int
) -> TestClient:
    token, _ = platform.tokens.create(user, "session test", None, tenant_id, SDK_SCOPE)
    client = TestClient(app_client.app, raise_server_exceptions=False)
    client.portal = app_client.portal
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_a_kernels_token_reaches_the_data_routes_only(
    platform: Platform, app_client: TestClient, alice: TestClient
) -> None:
    tenant_id = platform.tenants.get_user("alice").tenants[0].id
    kernel = _kernel_client(platform, app_client, "alice", tenant_id)
    assert kernel.put("/api/v1/objects/m.json", content=b"{}").status_code == 201
    assert kernel.get("/api/v1/objects").status_code == 200
    assert kernel.get("/api/v1/objects/m.json/content").content == b"{}"
    assert kernel.post("/api/v1/actions", json={"text": "hi"}).status_code == 201
    for method, path in [
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/sessions"),
        ("POST", "/api/v1/sessions"),
        ("GET", "/api/v1/streams"),
        ("GET", "/api/v1/notebooks"),
        ("GET", "/api/v1/runs"),
        ("DELETE", "/api/v1/objects/m.json"),
    ]:
        r = kernel.request(method, path)
        assert r.status_code == 403, (method, path, r.status_code)
        assert r.json()["error"]["code"] == "permission_denied"
    # The user's own token still does everything.
    assert alice.get("/api/v1/sessions").status_code == 200


def test_the_sdk_socket_serves_no_login_and_no_metrics(app_client: TestClient) -> None:
    gate = TestClient(sdk_only(app_client.app), raise_server_exceptions=False)
    gate.portal = app_client.portal
    r = gate.post("/api/v1/auth/login", json={"user": "alice", "password": PASSWORD})
    assert r.status_code == 404
    assert gate.get("/metrics").status_code == 404
    assert gate.get("/api/v1/openapi.json").status_code == 404
    assert gate.get("/api/v1/health").status_code == 200
