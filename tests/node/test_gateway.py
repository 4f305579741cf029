"""A kernel's way in (the SDK socket) serves only the tenant's data routes the SDK uses."""

from __future__ import annotations

import pytest

from suricate.node.gateway import sdk_allows


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/objects"),
        ("GET", "/api/v1/objects/plays.csv"),
        ("GET", "/api/v1/objects/plays.csv/content"),
        ("HEAD", "/api/v1/objects/plays.csv/content"),
        ("PUT", "/api/v1/objects/model.joblib"),
        ("POST", "/api/v1/actions"),
        ("POST", "/api/v1/streams/plays/messages"),
        ("POST", "/api/v1/objects/plays.jsonl/rows"),
        ("GET", "/api/v1/models/receivers"),
        ("GET", "/api/v1/models/receivers/versions/champion/artifact"),
        ("POST", "/api/v1/models/receivers/versions"),
        ("PUT", "/api/v1/models/receivers/aliases/champion"),
        ("GET", "/api/v1/me"),
    ],
)
def test_the_sdk_routes_pass(method: str, path: str) -> None:
    assert sdk_allows(method, path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/metrics"),
        ("POST", "/api/v1/sessions"),
        ("POST", "/api/v1/notebooks/x/runs"),
        ("GET", "/api/v1/streams"),
        ("DELETE", "/api/v1/objects/plays.csv"),
        ("GET", "/api/v1/objects/a/b/content"),
        ("GET", "/api/v1/objects/plays.csv/content\n"),
        ("GET", "/api/v1/processors"),
        ("GET", "/"),
    ],
)
def test_everything_else_is_refused(method: str, path: str) -> None:
    assert not sdk_allows(method, path)
