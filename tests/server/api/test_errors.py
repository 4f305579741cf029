"""Every error has one JSON shape: {"error": {"code", "message"}}, and no traceback."""

from __future__ import annotations

from fastapi.testclient import TestClient

from suricate.errors import SuricateError
from suricate.server.api.errors import STATUS


def assert_error_shape(body: dict) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] and body["error"]["message"]


def test_unknown_route_is_404_in_the_error_shape(alice: TestClient) -> None:
    r = alice.get("/api/v1/nope")
    assert r.status_code == 404
    assert_error_shape(r.json())


def test_wrong_method_is_405_in_the_error_shape(alice: TestClient) -> None:
    r = alice.post("/api/v1/objects")
    assert r.status_code == 405
    assert_error_shape(r.json())
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_validation_errors_are_422_naming_the_field(alice: TestClient) -> None:
    r = alice.get("/api/v1/objects", params={"limit": "many"})
    assert r.status_code == 422
    assert_error_shape(r.json())
    assert "limit" in r.json()["error"]["message"]
    alice.put("/api/v1/objects/a", content=b"x")
    r = alice.patch(
        "/api/v1/objects/a", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert_error_shape(r.json())


def test_unexpected_errors_are_500_without_a_traceback(alice: TestClient, monkeypatch) -> None:
    from suricate.domain.objects import ObjectService

    def boom(*args, **kwargs):
        raise RuntimeError("secret detail from another tenant")

    monkeypatch.setattr(ObjectService, "list_latest", boom)
    r = alice.get("/api/v1/objects")
    assert r.status_code == 500
    assert_error_shape(r.json())
    assert "secret" not in r.text
    assert "Traceback" not in r.text
    assert "incident" in r.json()["error"]["message"]


def test_every_error_class_has_a_status_and_a_code() -> None:
    def walk(cls: type) -> list[type]:
        return [cls, *[c for sub in cls.__subclasses__() for c in walk(sub)]]

    from suricate.server.api.errors import status_of

    for cls in walk(SuricateError):
        if cls is SuricateError or cls.__module__ != "suricate.errors":
            continue
        assert any(base in STATUS for base in cls.__mro__), cls
        assert cls.code != "error", cls
    assert status_of(SuricateError("x")) == 500


def test_a_nul_in_a_path_is_404_and_in_a_query_422_on_every_database(alice: TestClient) -> None:
    for path in ("models/a%00b", "streams/a%00b", "runs/a%00b", "processors/a%00b",
                 "schedules/a%00b", "objects/a%00b", "notebooks/a%00b"):  # fmt: skip
        r = alice.get(f"/api/v1/{path}")
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    r = alice.get("/api/v1/actions", params={"processor": "a\x00b"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
