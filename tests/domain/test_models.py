"""Models: versions logged from a kernel with their lineage, aliases, and processors that
follow an alias as it moves, with every action stamped with the version that made it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domain.test_processors import all_actions, create_notebook, upload, wait_for

pytestmark = [
    pytest.mark.sqlite_only("kernels do the work here: one database keeps these tests quick"),
    pytest.mark.settings(kernel_pool_size=1),
]

POINTS = b"x,y\n" + b"".join(f"{i},{int(i >= 20)}\n".encode() for i in range(40))


def execute(client: TestClient, session: str, code: str) -> dict[str, Any]:
    r = client.post(f"/api/v1/sessions/{session}/execute", json={"code": code})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] == "ok", result
    return result


def log_json(client: TestClient, name: str, model: Any, metrics: Any = None) -> dict[str, Any]:
    r = client.post(
        f"/api/v1/models/{name}/versions",
        data={"flavor": "json", "meta": json.dumps({"metrics": metrics or {}})},
        files={"artifact": ("m.json", io.BytesIO(json.dumps(model).encode()))},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_kernel_logs_a_model_with_its_lineage_and_loads_it_by_alias(alice: TestClient) -> None:
    upload(alice, "points.csv", POINTS)
    upload(alice, "points.csv", POINTS + b"40,1\n")  # version 2: the one read below
    session = alice.post("/api/v1/sessions").json()["id"]
    out = execute(
        alice,
        session,
        "from suricate import sdk\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "df = sdk.read_csv('points.csv')\n"
        "m = LogisticRegression().fit(df[['x']], df['y'])\n"
        "print(sdk.log_model('clf', m, metrics={'accuracy': 1.0}, params={'C': 1.0}))\n"
        "print(sdk.log_model('tendencies', {'3rd and long': 'slot'}))",
    )
    assert out["outputs"][0]["text"] == "1\n1\n"
    model = alice.get("/api/v1/models/clf").json()
    assert model["name"] == "clf" and model["latest_version"] == 1 and model["aliases"] == {}
    version = model["versions"][0]
    assert version["flavor"] == "skops"  # a scikit-learn estimator, stored without a pickle
    assert version["metrics"] == {"accuracy": 1.0} and version["params"] == {"C": 1.0}
    lineage = version["lineage"]
    assert lineage["objects"] == [{"name": "points.csv", "version": 2}]
    assert lineage["user"] == "alice" and lineage["session"] == session
    assert "scikit-learn" in lineage["packages"]
    assert alice.get("/api/v1/models/tendencies").json()["versions"][0]["flavor"] == "json"
    listed = alice.get("/api/v1/models").json()
    assert [m["name"] for m in listed["items"]] == ["clf", "tendencies"]

    r = alice.put("/api/v1/models/clf/aliases/champion", json={"version": 1})
    assert r.status_code == 200 and r.json()["aliases"] == {"champion": 1}
    out = execute(
        alice,
        session,
        "m = sdk.load_model('clf@champion')\n"
        "t = sdk.load_model('tendencies')\n"
        "print(m.version, int(m.predict([[35]])[0]), t['3rd and long'])\n"
        "sdk.action('advice', x=35)",
    )
    assert out["outputs"][0]["text"] == "1 1 slot\n"
    made = alice.get("/api/v1/actions", params={"model": "clf", "model_version": 1}).json()
    assert [a["models"] for a in made["items"]] == [{"clf": 1, "tendencies": 1}]
    assert (
        alice.get("/api/v1/actions", params={"model": "clf", "model_version": 2}).json()["items"]
        == []
    )
    assert alice.get("/api/v1/models/clf/versions/champion").json()["version"] == 1
    assert alice.get("/api/v1/models/clf/versions/latest").json()["version"] == 1
    artifact = alice.get("/api/v1/models/tendencies/versions/1/artifact")
    assert artifact.json() == {"3rd and long": "slot"}
    assert artifact.headers["X-Suricate-Model-Flavor"] == "json"
    assert alice.delete("/api/v1/models/clf/aliases/champion").status_code == 204
    assert alice.get("/api/v1/models/clf").json()["aliases"] == {}


def test_bad_references_and_aliases_are_clear(alice: TestClient) -> None:
    log_json(alice, "m", {"v": 1})
    assert alice.put("/api/v1/models/m/aliases/champion", json={"version": 2}).status_code == 404
    assert alice.put("/api/v1/models/m/aliases/Bad%20Alias", json={"version": 1}).status_code == 422
    assert alice.put("/api/v1/models/m/aliases/x", json={"version": 0}).status_code == 422
    assert alice.get("/api/v1/models/m/versions/nope").status_code == 404
    assert alice.delete("/api/v1/models/m/aliases/champion").status_code == 404
    assert alice.get("/api/v1/models/missing").status_code == 404
    r = alice.post(
        "/api/v1/models/m/versions",
        data={"flavor": "pickle"},
        files={"artifact": ("m", io.BytesIO(b"x"))},
    )
    assert r.status_code == 422


def test_another_tenants_model_is_404_on_every_route(alice: TestClient, bob: TestClient) -> None:
    log_json(alice, "secret", {"v": 1})
    assert (
        alice.put("/api/v1/models/secret/aliases/champion", json={"version": 1}).status_code == 200
    )
    for method, path, body in [
        ("GET", "/api/v1/models/secret", None),
        ("GET", "/api/v1/models/secret/versions/1", None),
        ("GET", "/api/v1/models/secret/versions/1/artifact", None),
        ("GET", "/api/v1/models/secret/versions/champion", None),
        ("PUT", "/api/v1/models/secret/aliases/champion", {"version": 1}),
        ("DELETE", "/api/v1/models/secret/aliases/champion", None),
    ]:
        r = bob.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
    assert bob.get("/api/v1/models").json()["items"] == []
    log_json(bob, "secret", {"v": "bob's"})  # the same name is another model in bob's tenant
    assert alice.get("/api/v1/models/secret").json()["latest_version"] == 1


FOLLOWER = """
from suricate import sdk
m = sdk.load_model("m@champion")
def on_message(msg):
    sdk.action(f"play {msg.body['play']}", play=msg.body["play"], said=m["v"])
"""


def test_a_processor_follows_its_alias_between_two_messages(alice: TestClient) -> None:
    log_json(alice, "m", {"v": 1})
    log_json(alice, "m", {"v": 2})
    r = alice.post(
        "/api/v1/models/m/versions",
        data={"flavor": "skops"},
        files={"artifact": ("broken", io.BytesIO(b"not a skops file"))},
    )
    assert r.status_code == 201  # version 3: stored, and it will not load
    alice.put("/api/v1/models/m/aliases/champion", json={"version": 1})
    rows = 400
    upload(alice, "plays.csv", b"play\n" + b"".join(f"{i}\n".encode() for i in range(rows)))
    stream = {"name": "plays", "type": "replay", "object": "plays.csv", "rate": 50}
    assert alice.post("/api/v1/streams", json=stream).status_code == 201
    nb = create_notebook(alice, FOLLOWER)
    pid = alice.post("/api/v1/processors", json={"notebook_id": nb, "stream": "plays"}).json()["id"]
    wait_for(alice, pid, lambda p: p["processed"] >= 40)
    moved = alice.put("/api/v1/models/m/aliases/champion", json={"version": 2})
    assert moved.status_code == 200
    at_move = alice.get(f"/api/v1/processors/{pid}").json()["processed"]
    wait_for(alice, pid, lambda p: p["processed"] >= at_move + 150)
    alice.put("/api/v1/models/m/aliases/champion", json={"version": 3})  # fails to load
    proc = wait_for(alice, pid, lambda p: p["processed"] >= rows, timeout=120)
    assert proc["status"] == "running" and proc["restarts"] == 0 and proc["failed"] == 0
    actions = all_actions(alice, pid)
    assert sorted(a["data"]["play"] for a in actions) == list(range(rows))  # each once
    for action in actions:
        assert action["models"] == {"m": action["data"]["said"]}  # stamped with what made it
    by_play = sorted(actions, key=lambda a: a["data"]["play"])
    said = [a["data"]["said"] for a in by_play]
    switch = said.index(2)
    assert set(said[:switch]) == {1} and set(said[switch:]) == {2}  # one move, never back
    # Within 2 s of the move: at 50 plays a second, at most 100 plays after it.
    assert switch <= at_move + 100, (switch, at_move)
    assert any("version 3 did not load" in line for line in proc["logs"]), proc["logs"]
    two = alice.get("/api/v1/actions", params={"model": "m", "model_version": 2}).json()
    assert two["items"] and all(a["models"] == {"m": 2} for a in two["items"])
    alice.delete(f"/api/v1/processors/{pid}")
