"""Objects and notebooks are named as people name files; hostile names are refused whole."""

from __future__ import annotations

import json
import unicodedata
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from suricate.errors import InvalidName
from suricate.names import check_name
from suricate.server.platform import Platform

CSV = b"season,team\n2013,DEN\n"
ACCENTED = "Données 2013.csv"  # NFC
NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "cells": [
        {
            "cell_type": "code",
            "id": "a",
            "metadata": {},
            "source": "1",
            "outputs": [],
            "execution_count": None,
        }
    ],
}
HOSTILE = [
    "..",
    ".",
    "a/b",
    "nul\x00byte",
    "tab\there",
    "line\u2028break",
    "report\u202egpj.exe",  # RIGHT-TO-LEFT OVERRIDE: shows as "reportexe.jpg"
    "isolate\u2066x",
    " leading",
    "trailing ",
    "trailing\u00a0",
    "x" * 256,
    "é" * 128,  # 256 bytes
    "",
]


def url(name: str) -> str:
    # Clients resolve "." and ".." segments before sending; encoded, they reach the server.
    return "/api/v1/objects/" + quote(name, safe="").replace(".", "%2E")


@pytest.mark.parametrize(
    "name",
    [
        "Clear Output",
        ACCENTED,
        "a.csv",
        ".hidden",
        "x" * 255,
        "é" * 127,
        "\u2115 \u2260 \u2124 (draft) #2?.csv",
        "👩‍🔬 notes",
    ],
)
def test_names_as_people_write_them_are_valid(name: str) -> None:
    assert check_name("object", name) == name
    assert check_name("notebook", name) == name


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused(name: str) -> None:
    for kind in ("object", "notebook"):
        with pytest.raises(InvalidName):
            check_name(kind, name)


def test_streams_models_and_tags_stay_strict() -> None:
    for kind in ("stream", "model", "tag"):
        with pytest.raises(InvalidName):
            check_name(kind, "Clear Output")


def test_an_accented_object_round_trips(alice: TestClient, platform: Platform) -> None:
    r = alice.put(url(ACCENTED), content=CSV, headers={"Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == ACCENTED
    again = alice.put(url(ACCENTED), content=CSV + b"2014,SEA\n")
    assert again.json()["version"] == 2
    names = [o["name"] for o in alice.get("/api/v1/objects").json()["items"]]
    assert ACCENTED in names
    assert alice.get(url(ACCENTED)).json()["version"] == 2
    content = alice.get(url(ACCENTED) + "/content", params={"version": 1})
    assert content.content == CSV
    disposition = content.headers["content-disposition"].lower()
    assert "filename*=utf-8''donn%c3%a9es%202013.csv" in disposition
    assert alice.get(url(ACCENTED) + "/preview").json()["rows"][0][1] == "DEN"
    # The decomposed spelling a Mac sends is the same object, not a look-alike twin.
    decomposed = unicodedata.normalize("NFD", ACCENTED)
    assert decomposed != ACCENTED
    assert alice.put(url(decomposed), content=CSV).json()["version"] == 3
    assert alice.get(url(decomposed)).json()["name"] == ACCENTED
    # Names never become paths: the blob store holds only content addresses.
    stored = [p.name for p in platform.store.blobs.rglob("*") if p.is_file()]
    assert stored and all(len(n) == 64 and n.isalnum() for n in stored)
    assert alice.delete(url(decomposed)).status_code == 204
    assert alice.get(url(ACCENTED)).status_code == 404


def test_hostile_object_names_are_422_and_store_nothing(alice: TestClient) -> None:
    for name in HOSTILE[:-1]:
        r = alice.put(url(name), content=b"x")
        if "/" in name:  # %2F is decoded before routing: no route takes two segments
            assert r.status_code in (404, 405), name
            continue
        assert r.status_code == 422, name
        assert r.json()["error"]["code"] == "invalid_name"
    assert alice.get("/api/v1/objects").json()["items"] == []


def test_old_names_keep_working(alice: TestClient) -> None:
    assert alice.put(url("plays_2013-v1.csv"), content=CSV).status_code == 201
    assert alice.get(url("plays_2013-v1.csv") + "/content").content == CSV


def test_a_notebook_named_with_spaces_imports_opens_and_exports(alice: TestClient) -> None:
    r = alice.post(
        "/api/v1/notebooks/import",
        files={"file": ("Clear Output.ipynb", json.dumps(NOTEBOOK), "application/x-ipynb+json")},
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Clear Output"
    by_name = alice.get("/api/v1/notebooks/" + quote("Clear Output", safe=""))
    assert by_name.json()["id"] == r.json()["id"]
    export = alice.get("/api/v1/notebooks/" + quote("Clear Output", safe="") + "/ipynb")
    assert "filename*=UTF-8''Clear%20Output.ipynb" in export.headers["content-disposition"]
    renamed = alice.put(f"/api/v1/notebooks/{r.json()['id']}", json={"name": "Données brutes"})
    assert renamed.json()["name"] == "Données brutes"
    names = [n["name"] for n in alice.get("/api/v1/notebooks").json()["items"]]
    assert names == ["Données brutes"]
    for name in HOSTILE[:-1]:
        bad = alice.post("/api/v1/notebooks", json={"name": name})
        assert bad.status_code == 422, name
        assert bad.json()["error"]["code"] == "invalid_name"


def test_looking_up_a_name_with_nul_is_404_on_both_databases(alice: TestClient) -> None:
    # PostgreSQL refuses NUL in text: the look-up must not reach it (it was a 500).
    for method, path in [
        ("GET", "/api/v1/objects/a%00b"),
        ("GET", "/api/v1/objects/a%00b/content"),
        ("GET", "/api/v1/objects/a%00b/preview"),
        ("DELETE", "/api/v1/objects/a%00b"),
        ("GET", "/api/v1/notebooks/a%00b"),
        ("GET", "/api/v1/notebooks/a%00b/ipynb"),
        ("POST", "/api/v1/notebooks/a%00b/runs"),
    ]:
        r = alice.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
