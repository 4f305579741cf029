"""Every request body has a limit, decided before the body is buffered: 413 in the error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

NOTEBOOK_LIMIT = 200_000


pytestmark = [
    pytest.mark.settings(max_notebook_bytes=NOTEBOOK_LIMIT),
    pytest.mark.sqlite_only("limits are checked before the database"),
]


def _assert_413(response: object, setting: str) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "body_too_large"
    assert setting in error["message"]


def test_a_2_mb_json_action_is_413(alice: TestClient) -> None:
    body = {"text": "big", "data": {"blob": "x" * 2_000_000}}
    _assert_413(alice.post("/api/v1/actions", json=body), "SURICATE_MAX_JSON_BYTES")
    assert alice.get("/api/v1/actions").json()["items"] == []


def test_a_chunked_body_is_cut_while_it_is_read(alice: TestClient) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"text": "big", "data": {"blob": "'
        for _ in range(100):
            sent += 64 * 1024
            yield b"x" * (64 * 1024)
        yield b'"}}'

    r = alice.post(
        "/api/v1/actions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _assert_413(r, "SURICATE_MAX_JSON_BYTES")


def test_a_small_json_body_passes(alice: TestClient) -> None:
    r = alice.post("/api/v1/actions", json={"text": "fine", "data": {"x": 1}})
    assert r.status_code == 201


def _notebook(size: int) -> dict[str, object]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "id": "a", "metadata": {}, "source": "x" * size},
        ],
    }


def test_notebooks_have_the_notebook_limit_on_create_update_and_import(alice: TestClient) -> None:
    small = alice.post("/api/v1/notebooks", json={"name": "nb", "notebook": _notebook(100)})
    assert small.status_code == 201
    notebook_id = small.json()["id"]
    # Past the JSON limit would be fine for a notebook; past the notebook limit is not.
    big = _notebook(NOTEBOOK_LIMIT + 10)
    _assert_413(
        alice.post("/api/v1/notebooks", json={"name": "big", "notebook": big}),
        "SURICATE_MAX_NOTEBOOK_BYTES",
    )
    _assert_413(
        alice.put(f"/api/v1/notebooks/{notebook_id}", json={"notebook": big}),
        "SURICATE_MAX_NOTEBOOK_BYTES",
    )
    r = alice.post(
        "/api/v1/notebooks/import?name=big",
        content=json.dumps(big).encode(),
        headers={"Content-Type": "application/x-ipynb+json"},
    )
    assert r.status_code == 413
    fits = _notebook(NOTEBOOK_LIMIT // 2)
    assert alice.put(f"/api/v1/notebooks/{notebook_id}", json={"notebook": fits}).status_code == 200


def test_the_limit_is_the_content_length_when_it_says_so(alice: TestClient) -> None:
    # A declared length past the limit is refused before any byte is read.
    r = alice.post(
        "/api/v1/actions",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": str(10 * 1024**2)},
    )
    assert r.status_code == 413
