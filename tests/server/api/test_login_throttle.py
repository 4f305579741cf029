"""Wrong passwords meet 429 with Retry-After long before the 50th try."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, MakeUser


def test_fifty_wrong_logins_meet_429_before_the_50th(
    make_user: MakeUser, app_client: TestClient
) -> None:
    make_user("carol", "initech")
    statuses = []
    for _ in range(50):
        r = app_client.post("/api/v1/auth/login", json={"user": "carol", "password": "wrong"})
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1
            assert r.json()["error"]["code"] == "too_many_attempts"
    assert 429 in statuses[:49]
    assert set(statuses) <= {401, 429}
    # The right password is not even checked while the name waits.
    r = app_client.post("/api/v1/auth/login", json={"user": "carol", "password": PASSWORD})
    assert r.status_code == 429


def test_logins_of_unknown_users_are_throttled_too(app_client: TestClient) -> None:
    statuses = [
        app_client.post("/api/v1/auth/login", json={"user": "nobody", "password": "x"}).status_code
        for _ in range(10)
    ]
    assert 429 in statuses
