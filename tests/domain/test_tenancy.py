"""Tenancy: authentication, tenant selection, and another tenant's things are always 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from suricate.server.platform import Platform
from tests.conftest import MakeUser

CSV = b"a,b\n1,2\n"


def test_no_token_is_401(app_client: TestClient) -> None:
    r = app_client.get("/api/v1/objects")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert r.headers["www-authenticate"] == "Bearer"


def test_bad_token_is_401(app_client: TestClient) -> None:
    r = app_client.get("/api/v1/objects", headers={"Authorization": "Bearer sur_nope"})
    assert r.status_code == 401


def test_revoked_token_is_401(platform: Platform, alice: TestClient) -> None:
    token = alice.headers["Authorization"].split()[1]
    assert alice.get("/api/v1/objects").status_code == 200
    platform.tokens.revoke(token)
    assert alice.get("/api/v1/objects").status_code == 401


def test_health_needs_no_token(app_client: TestClient) -> None:
    r = app_client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["version"]


def test_other_tenant_gets_404_on_every_object_route(alice: TestClient, bob: TestClient) -> None:
    assert alice.put("/api/v1/objects/secret.csv", content=CSV).status_code == 201
    routes = [
        ("GET", "/api/v1/objects/secret.csv"),
        ("GET", "/api/v1/objects/secret.csv/content"),
        ("GET", "/api/v1/objects/secret.csv/content?version=1"),
        ("GET", "/api/v1/objects/secret.csv/preview"),
        ("PATCH", "/api/v1/objects/secret.csv"),
        ("DELETE", "/api/v1/objects/secret.csv"),
    ]
    for method, path in routes:
        r = bob.request(method, path, json={"tags": ["x"]} if method == "PATCH" else None)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["code"] == "object_not_found"
    assert bob.get("/api/v1/objects").json()["items"] == []
    # Bob writing the same name makes his own object; Alice's is untouched.
    assert bob.put("/api/v1/objects/secret.csv", content=b"bob").json()["version"] == 1
    assert alice.get("/api/v1/objects/secret.csv/content").content == CSV


def test_tenant_header_selects_another_tenant_of_the_user(
    platform: Platform, make_user: MakeUser
) -> None:
    from suricate.domain.tenants import Role

    carol = make_user("carol", "acme")
    make_user("dave", "globex")
    platform.tenants.add_member("globex", "carol", Role.MEMBER)
    carol.put("/api/v1/objects/in-acme", content=b"1")
    carol.put("/api/v1/objects/in-globex", content=b"2", headers={"X-Suricate-Tenant": "globex"})
    acme = [o["name"] for o in carol.get("/api/v1/objects").json()["items"]]
    globex = carol.get("/api/v1/objects", headers={"X-Suricate-Tenant": "globex"}).json()
    assert acme == ["in-acme"]
    assert [o["name"] for o in globex["items"]] == ["in-globex"]
    me = carol.get("/api/v1/me", headers={"X-Suricate-Tenant": "globex"}).json()
    assert me == {
        "user": "carol",
        "tenant": "globex",
        "role": "member",
        "tenants": [{"name": "acme", "role": "owner"}, {"name": "globex", "role": "member"}],
    }


def test_tenant_the_user_is_not_in_is_404(alice: TestClient, bob: TestClient) -> None:
    r = alice.get("/api/v1/objects", headers={"X-Suricate-Tenant": "globex"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "tenant_not_found"
    r = alice.get("/api/v1/objects", headers={"X-Suricate-Tenant": "no-such-tenant"})
    assert r.status_code == 404
