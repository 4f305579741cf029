"""Parameters out of range are 422, never 500; names are whole strings."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.sqlite_only("parameters are checked before the database")

HUGE = ["9223372036854775808", "99999999999999999999", "-1", "0"]


def test_a_name_ending_in_a_newline_is_422(alice: TestClient) -> None:
    for name in ("abc%0A", "abc%0D", "abc%00", "nb%0A"):
        r = alice.put(f"/api/v1/objects/{name}", content=b"x")
        assert r.status_code == 422, name
        assert r.json()["error"]["code"] == "invalid_name"
    r = alice.post("/api/v1/notebooks", json={"name": "nbx\n"})
    assert r.status_code == 422


@pytest.mark.parametrize("value", HUGE)
def test_versions_and_revisions_out_of_range_are_422(alice: TestClient, value: str) -> None:
    alice.put("/api/v1/objects/a.csv", content=b"a\n1\n")
    notebook = alice.post("/api/v1/notebooks", json={"name": "nb"}).json()["id"]
    for path in (
        f"/api/v1/objects/a.csv/content?version={value}",
        f"/api/v1/objects/a.csv/preview?version={value}",
        f"/api/v1/notebooks/{notebook}?revision={value}",
        f"/api/v1/notebooks/{notebook}/ipynb?revision={value}",
    ):
        r = alice.get(path)
        assert r.status_code == 422, (path, r.status_code)
        assert r.json()["error"]["code"] == "invalid_input"
    saved = alice.put(f"/api/v1/notebooks/{notebook}", json={"revision": int(value)})
    assert saved.status_code == 422


def test_time_limits_and_moments_out_of_range_are_422(alice: TestClient) -> None:
    notebook = alice.post("/api/v1/notebooks", json={"name": "nb"}).json()["id"]
    for timeout in (1e308, 10**30):
        r = alice.post(f"/api/v1/notebooks/{notebook}/runs", json={"timeout_s": timeout})
        assert r.status_code == 422
    assert alice.get("/api/v1/actions?since=0001-01-01T00:00:00%2B23:00").status_code == 422
    assert alice.get("/api/v1/actions?since=2020-01-01T00:00:00").status_code == 200
