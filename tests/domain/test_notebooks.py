"""Notebooks through the REST API: CRUD, revisions, .ipynb import and export."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from fastapi.testclient import TestClient

CODE_NB = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "cells": [
        {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# Plays"},
        {
            "cell_type": "code",
            "id": "c1",
            "metadata": {"tags": ["parameters"]},
            "execution_count": 1,
            "source": "print(1 + 1)",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "2\n"}],
        },
    ],
}


def create(client: TestClient, name: str = "explore", **extra) -> dict:
    r = client.post("/api/v1/notebooks", json={"name": name, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_create_empty_analytics_notebook(alice: TestClient) -> None:
    body = create(alice)
    assert body["name"] == "explore"
    assert body["kind"] == "analytics"
    assert body["revision"] == 1
    assert body["id"]
    assert body["notebook"]["nbformat"] == 4
    assert body["notebook"]["cells"] == []
    assert body["notebook"]["metadata"]["kernelspec"]["name"] == "python3"


def test_routes_take_a_notebook_name_as_well_as_its_id(alice: TestClient, bob: TestClient) -> None:
    body = create(alice)
    by_name = alice.get("/api/v1/notebooks/explore")
    assert by_name.status_code == 200 and by_name.json()["id"] == body["id"]
    assert alice.get("/api/v1/notebooks/explore/ipynb").status_code == 200
    assert alice.get("/api/v1/notebooks/explore/revisions").json()["items"]
    assert bob.get("/api/v1/notebooks/explore").status_code == 404
    assert alice.delete("/api/v1/notebooks/explore").status_code == 204
    assert alice.get(f"/api/v1/notebooks/{body['id']}").status_code == 404


def test_create_with_content_and_kind(alice: TestClient) -> None:
    body = create(alice, "handler", kind="processing", notebook=CODE_NB)
    assert body["kind"] == "processing"
    got = alice.get(f"/api/v1/notebooks/{body['id']}").json()
    assert got["notebook"]["cells"][1]["outputs"][0]["text"] == "2\n"


def test_every_save_is_a_revision(alice: TestClient) -> None:
    nb = create(alice)
    content = nb["notebook"]
    content["cells"].append(
        {
            "cell_type": "code",
            "id": "x",
            "metadata": {},
            "execution_count": None,
            "source": "1",
            "outputs": [],
        }
    )
    r = alice.put(f"/api/v1/notebooks/{nb['id']}", json={"notebook": content, "revision": 1})
    assert r.status_code == 200
    assert r.json()["revision"] == 2
    stale = alice.put(f"/api/v1/notebooks/{nb['id']}", json={"notebook": content, "revision": 1})
    assert stale.status_code == 409
    revs = alice.get(f"/api/v1/notebooks/{nb['id']}/revisions").json()
    assert [r["revision"] for r in revs["items"]] == [2, 1]
    first = alice.get(f"/api/v1/notebooks/{nb['id']}", params={"revision": 1}).json()
    assert first["notebook"]["cells"] == []
    renamed = alice.put(f"/api/v1/notebooks/{nb['id']}", json={"name": "renamed"}).json()
    assert renamed["name"] == "renamed"
    assert renamed["revision"] == 2


def test_duplicate_name_is_409(alice: TestClient) -> None:
    create(alice)
    r = alice.post("/api/v1/notebooks", json={"name": "explore"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "already_exists"


def test_invalid_kind_and_notebook_are_422(alice: TestClient) -> None:
    r = alice.post("/api/v1/notebooks", json={"name": "x", "kind": "other"})
    assert r.status_code == 422
    assert "kind" in r.json()["error"]["message"]
    bad = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}
    r = alice.post("/api/v1/notebooks", json={"name": "x", "notebook": bad})
    assert r.status_code == 422
    assert "cells/0" in r.json()["error"]["message"]


def test_list_pages_and_filters_by_kind(alice: TestClient) -> None:
    for i in range(3):
        create(alice, f"nb{i}")
    create(alice, "proc", kind="processing")
    page = alice.get("/api/v1/notebooks", params={"limit": 2}).json()
    assert [n["name"] for n in page["items"]] == ["nb0", "nb1"]
    rest = alice.get("/api/v1/notebooks", params={"cursor": page["next"]}).json()
    assert [n["name"] for n in rest["items"]] == ["nb2", "proc"]
    assert rest["next"] is None
    assert "notebook" not in rest["items"][0]
    procs = alice.get("/api/v1/notebooks", params={"kind": "processing"}).json()
    assert [n["name"] for n in procs["items"]] == ["proc"]


def test_export_is_a_valid_ipynb_with_outputs(alice: TestClient) -> None:
    nb = create(alice, "plays", notebook=CODE_NB)
    r = alice.get(f"/api/v1/notebooks/{nb['id']}/ipynb")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ipynb+json")
    assert 'filename="plays.ipynb"' in r.headers["content-disposition"]
    parsed = nbformat.reads(r.text, as_version=4)
    nbformat.validate(parsed)
    assert parsed.cells[1].outputs[0].text == "2\n"
    assert "suricate" not in parsed.metadata  # nothing of ours in an analytics notebook


def test_a_processing_notebook_exports_its_kind_and_imports_back_as_one(alice: TestClient) -> None:
    nb = create(alice, "handler", kind="processing", notebook=CODE_NB)
    exported = alice.get(f"/api/v1/notebooks/{nb['id']}/ipynb").text
    assert json.loads(exported)["metadata"]["suricate"] == {"kind": "processing"}
    again = alice.post(
        "/api/v1/notebooks/import", files={"file": ("handler2.ipynb", exported)}
    ).json()
    assert again["kind"] == "processing"
    assert "suricate" not in again["notebook"]["metadata"]


def test_import_repairs_what_jupyter_would_and_says_what(alice: TestClient) -> None:
    # nbclient's Output.ipynb: a kernelspec with only a language; cells without ids in 4.5.
    nb = json.loads(json.dumps(CODE_NB))
    nb["metadata"]["kernelspec"] = {"language": "python"}
    nb["cells"][1]["metadata"]["collapsed"] = "yes"  # invalid: collapsed is a boolean
    for cell in nb["cells"]:
        del cell["id"]
    r = alice.post("/api/v1/notebooks/import", files={"file": ("Output.ipynb", json.dumps(nb))})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Output"
    assert r.json()["repairs"] == [
        "added ids to 2 cells",
        "filled in metadata.kernelspec.name ('python3')",
        "filled in metadata.kernelspec.display_name ('Python 3')",
        "removed invalid metadata at cells/1/metadata/collapsed ('yes' is not of type 'boolean')",
    ]
    stored = nbformat.from_dict(r.json()["notebook"])
    nbformat.validate(stored)
    assert stored.metadata.kernelspec == {
        "language": "python",
        "name": "python3",
        "display_name": "Python 3",
    }
    # A 4.4 notebook whose cells have ids (as some editors write) becomes 4.5, where ids exist.
    old = json.loads(json.dumps(CODE_NB)) | {"nbformat_minor": 4}
    r = alice.post("/api/v1/notebooks/import", params={"name": "old"}, content=json.dumps(old))
    assert r.json()["repairs"] == ["upgraded nbformat 4.4 to 4.5, the first version with cell ids"]
    assert r.json()["notebook"]["nbformat_minor"] == 5
    # A valid notebook needs nothing.
    r = alice.post("/api/v1/notebooks/import", params={"name": "fine"}, content=json.dumps(CODE_NB))
    assert r.json()["repairs"] == []


def test_an_imported_notebook_exports_equal_after_normalisation(alice: TestClient) -> None:
    files = Path(__file__).parent.parent / "files"
    paths = [*sorted((files / "papermill").glob("*.ipynb")), files / "notebooks" / "outputs.ipynb"]
    for path in paths:
        r = alice.post("/api/v1/notebooks/import", files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 201, (path.name, r.text)
        exported = alice.get(f"/api/v1/notebooks/{r.json()['id']}/ipynb").text
        nbformat.validate(nbformat.reads(exported, as_version=4))
        original = nbformat.writes(nbformat.reads(path.read_text(), as_version=4))
        again = nbformat.writes(nbformat.reads(exported, as_version=4))
        assert again == original, path.name
        assert exported == original + "\n", path.name  # written as Jupyter writes it


def test_import_raw_and_multipart_round_trip(alice: TestClient) -> None:
    raw = json.dumps(CODE_NB).encode()
    r = alice.post("/api/v1/notebooks/import", params={"name": "imported"}, content=raw)
    assert r.status_code == 201, r.text
    assert r.json()["notebook"]["cells"][1]["source"] == "print(1 + 1)"
    exported = alice.get(f"/api/v1/notebooks/{r.json()['id']}/ipynb").text
    r2 = alice.post(
        "/api/v1/notebooks/import", files={"file": ("Again.ipynb", exported, "application/json")}
    )
    assert r2.status_code == 201, r2.text
    assert r2.json()["name"] == "Again"
    assert r2.json()["kind"] == "analytics"
    assert r2.json()["notebook"]["cells"] == r.json()["notebook"]["cells"]


def test_import_upgrades_old_notebooks(alice: TestClient) -> None:
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {"name": "old"},
        "worksheets": [
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "input": "1+1",
                        "language": "python",
                        "outputs": [],
                        "metadata": {},
                    }
                ],
                "metadata": {},
            }
        ],
    }
    r = alice.post("/api/v1/notebooks/import", params={"name": "old"}, content=json.dumps(v3))
    assert r.status_code == 201, r.text
    assert r.json()["notebook"]["nbformat"] == 4
    assert r.json()["notebook"]["cells"][0]["source"] == "1+1"


def test_import_rejects_malformed_files_naming_the_problem(alice: TestClient) -> None:
    cases = [
        (b"{not json", "not valid JSON"),
        (b'{"hello": 1}', "not a Jupyter notebook"),
        (
            json.dumps(
                {
                    "nbformat": 4,
                    "nbformat_minor": 5,
                    "metadata": {},
                    "cells": [
                        {
                            "cell_type": "code",
                            "id": "a",
                            "source": "",
                            "metadata": {},
                            "outputs": [{"output_type": "bogus"}],
                            "execution_count": None,
                        }
                    ],
                }
            ).encode(),
            "cells/0",
        ),
        (b'{"a": "\xe9"}', "not UTF-8"),
    ]
    for data, problem in cases:
        r = alice.post("/api/v1/notebooks/import", params={"name": "bad"}, content=data)
        assert r.status_code == 422, data
        assert r.json()["error"]["code"] == "malformed_data"
        assert problem in r.json()["error"]["message"], r.json()
    assert alice.get("/api/v1/notebooks").json()["items"] == []


def test_delete_removes_the_notebook(alice: TestClient) -> None:
    nb = create(alice)
    assert alice.delete(f"/api/v1/notebooks/{nb['id']}").status_code == 204
    assert alice.get(f"/api/v1/notebooks/{nb['id']}").status_code == 404


def test_other_tenant_gets_404_on_every_notebook_route(alice: TestClient, bob: TestClient) -> None:
    nb = create(alice)
    for method, path in [
        ("GET", f"/api/v1/notebooks/{nb['id']}"),
        ("PUT", f"/api/v1/notebooks/{nb['id']}"),
        ("DELETE", f"/api/v1/notebooks/{nb['id']}"),
        ("GET", f"/api/v1/notebooks/{nb['id']}/ipynb"),
        ("GET", f"/api/v1/notebooks/{nb['id']}/revisions"),
    ]:
        r = bob.request(method, path, json={"name": "stolen"} if method == "PUT" else None)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["code"] == "notebook_not_found"
    assert bob.get("/api/v1/notebooks").json()["items"] == []
    assert alice.get(f"/api/v1/notebooks/{nb['id']}").json()["name"] == "explore"


def test_an_import_nested_too_deeply_is_malformed_not_500(alice: TestClient) -> None:
    r = alice.post(
        "/api/v1/notebooks/import?name=deep",
        content=b"[" * 200_000,
        headers={"Content-Type": "application/x-ipynb+json"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "malformed_data"
