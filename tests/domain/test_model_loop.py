"""The model loop: a challenger in shadow beside the champion, promotion by a metric policy and
by a gate notebook's verdict, and replay backtests that compare two versions on a stored object."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domain.test_models import log_json
from tests.domain.test_processors import all_actions, create_notebook, upload, wait_for
from tests.support.api import finished_run

pytestmark = [
    pytest.mark.sqlite_only("kernels do the work here: one database keeps these tests quick"),
    pytest.mark.settings(kernel_pool_size=1),
]

# Every play was a pass (y=1): a model saying p=0.8 has a loss of 0.04, one saying 0.2 of 0.64.
PLAYS = b"play,y\n" + b"".join(f"{i},1\n".encode() for i in range(3000))

ADVISOR = """
from suricate import sdk
m = sdk.load_model("m@champion")
def on_message(msg):
    p = m["p"]
    sdk.metric("loss", (p - msg.body["y"]) ** 2)
    sdk.append("seen.jsonl", {"play": msg.body["play"]}, key="play")
    sdk.action("pass" if p > 0.5 else "run", play=msg.body["play"], p=p)
"""

GATE = """
model = ""
champion_version = 0
challenger_version = 0
compared = 0
agreement = None
champion_metrics = {}
challenger_metrics = {}
"""

GATE_VERDICT = """
from suricate import sdk
better = challenger_metrics["loss"] < champion_metrics["loss"]
sdk.verdict(better, f"loss {challenger_metrics['loss']:.3f} vs {champion_metrics['loss']:.3f}")
"""


def processor(client: TestClient, pid: str) -> dict[str, Any]:
    return dict(client.get(f"/api/v1/processors/{pid}").json())


def test_a_challenger_in_shadow_is_promoted_by_its_metric_then_by_a_gate(
    alice: TestClient,
) -> None:
    log_json(alice, "m", {"p": 0.2})
    log_json(alice, "m", {"p": 0.8})
    log_json(alice, "m", {"p": 0.9})
    alice.put("/api/v1/models/m/aliases/champion", json={"version": 1})
    alice.put("/api/v1/models/m/aliases/challenger", json={"version": 2})
    upload(alice, "plays.csv", PLAYS)
    stream = {"name": "plays", "type": "replay", "object": "plays.csv", "rate": 100}
    assert alice.post("/api/v1/streams", json=stream).status_code == 201
    nb = create_notebook(alice, ADVISOR)
    shadow = {"model": "m", "policy": {"metric": "loss", "goal": "min", "window": 100}}
    body = {"notebook_id": nb, "stream": "plays", "shadow": shadow}
    r = alice.post("/api/v1/processors", json=body)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["shadow"]["policy"]["metric"] == "loss"

    # 100 plays compared: the challenger's loss is lower, the policy moves the champion alias.
    promoted = wait_for(alice, pid, lambda p: p["shadow_stats"].get("decisions"), timeout=90)[
        "shadow_stats"
    ]["decisions"][-1]
    assert promoted["verdict"] == "promoted", promoted
    assert (promoted["champion"], promoted["challenger"]) == (1, 2)
    assert "loss: challenger 0.04, champion 0.64" in promoted["reason"], promoted
    assert alice.get("/api/v1/models/m").json()["aliases"]["champion"] == 2
    at_move = processor(alice, pid)["processed"]
    proc = wait_for(alice, pid, lambda p: p["processed"] >= at_move + 300)
    assert proc["restarts"] == 0 and proc["failed"] == 0
    # The champion is the challenger now: the shadow pass pauses, nothing more is compared.
    live = all_actions(alice, pid)
    assert all(a["feed"] == "live" for a in live)
    said = [a["models"]["m"] for a in sorted(live, key=lambda a: a["data"]["play"])]
    switch = said.index(2)
    assert set(said[:switch]) == {1} and set(said[switch:]) == {2}
    # The challenger's actions are in the shadow feed, stamped with its version, never live.
    shadow_feed = alice.get(
        "/api/v1/actions", params={"processor": pid, "feed": "shadow", "limit": 1000}
    ).json()["items"]
    assert len(shadow_feed) >= 100
    assert all(a["models"] == {"m": 2} and a["text"] == "pass" for a in shadow_feed)
    # The metrics are kept by model version: v1 made 0.64 a play, v2 0.04.
    means = {m["models"]["m"]: m["mean"] for m in proc["metrics"] if m["name"] == "loss"}
    assert means[1] == pytest.approx(0.64) and means[2] == pytest.approx(0.04)

    # A new challenger with a gate notebook as the policy: the gate's verdict promotes it.
    gate = alice.post(
        "/api/v1/notebooks",
        json={"name": "gate", "notebook": _notebook(GATE, GATE_VERDICT, tagged=0)},
    )
    assert gate.status_code == 201, gate.text
    alice.put("/api/v1/models/m/aliases/challenger", json={"version": 3})
    policy = {"gate": "gate", "window": 50}
    r = alice.put(f"/api/v1/processors/{pid}/shadow", json={"model": "m", "policy": policy})
    assert r.status_code == 200, r.text
    decided = wait_for(
        alice,
        pid,
        lambda p: len(p["shadow_stats"].get("decisions", [])) >= 2,
        timeout=120,
    )["shadow_stats"]["decisions"][-1]
    assert decided["verdict"] == "promoted" and decided["run_id"], decided
    assert (decided["champion"], decided["challenger"]) == (2, 3)
    assert "loss 0.010 vs 0.040" in decided["reason"], decided
    run = alice.get(f"/api/v1/runs/{decided['run_id']}").json()
    assert run["parameters"]["challenger_version"] == 3 and run["status"] == "succeeded"
    assert alice.get("/api/v1/models/m").json()["aliases"]["champion"] == 3
    # The plays appended by the champion only: once each, the shadow pass appended none.
    alice.post("/api/v1/objects/seen.jsonl/rows/flush")
    seen = alice.get("/api/v1/objects/seen.jsonl/content").text.splitlines()
    assert len(seen) == len(set(seen))

    # Another tenant sees none of it.
    assert alice.delete(f"/api/v1/processors/{pid}/shadow").status_code == 200
    alice.delete(f"/api/v1/processors/{pid}")


def test_a_replay_backtest_compares_two_versions_on_a_stored_object(
    alice: TestClient, bob: TestClient
) -> None:
    log_json(alice, "m", {"p": 0.2})
    log_json(alice, "m", {"p": 0.8})
    alice.put("/api/v1/models/m/aliases/champion", json={"version": 2})
    upload(alice, "game.csv", PLAYS[: PLAYS.index(b"600,")])  # plays 0..599
    nb = create_notebook(alice, ADVISOR, name="advisor")
    backtest = {"object": "game.csv", "models": {"m": 1}, "shadow": {"model": "m", "version": 2}}
    r = alice.post(f"/api/v1/notebooks/{nb}/runs", json={"backtest": backtest})
    assert r.status_code == 202, r.text
    run = finished_run(alice, r.json()["id"])
    assert run["status"] == "succeeded", run["error"]
    assert run["backtest"]["object"] == "game.csv"

    def feed(name: str) -> list[dict[str, Any]]:
        params = {"run": run["id"], "feed": name, "limit": 1000}
        return list(alice.get("/api/v1/actions", params=params).json()["items"])

    mine, challenger = feed("backtest"), feed("shadow")
    # Pinned to version 1 whatever the champion alias says; the challenger is version 2.
    assert len(mine) == 600 and {a["models"]["m"] for a in mine} == {1}
    assert {a["text"] for a in mine} == {"run"} and {a["run_id"] for a in mine} == {run["id"]}
    assert len(challenger) == 600 and {a["models"]["m"] for a in challenger} == {2}
    live = alice.get("/api/v1/actions", params={"limit": 1000}).json()["items"]
    assert live == []  # the live feed never hears a backtest
    # The run's notebook ends with the figures: agreement and each version's mean loss.
    nb_out = alice.get(f"/api/v1/runs/{run['id']}/notebook").json()
    last = nb_out["cells"][-1]
    assert "suricate-backtest" in last["metadata"]["tags"]
    figures = last["outputs"][-1]["data"]["application/vnd.suricate.backtest+json"]
    assert figures["done"] and figures["handled"] == 600 and figures["failed"] == 0
    assert figures["shadow"]["agreement"] == 0
    assert figures["shadow"]["metrics"]["champion"]["loss"] == pytest.approx(0.64)
    assert figures["shadow"]["metrics"]["challenger"]["loss"] == pytest.approx(0.04)
    # A backtest appends nothing: a past game replayed must not add its plays again.
    assert alice.get("/api/v1/objects/seen.jsonl").status_code == 404
    # Another tenant's run: 404, and none of its actions.
    assert bob.get("/api/v1/actions", params={"run": run["id"]}).json()["items"] == []
    posted = bob.post(f"/api/v1/runs/{run['id']}/actions", json={"actions": []})
    assert posted.status_code == 404
    over = alice.post(f"/api/v1/runs/{run['id']}/actions", json={"actions": []})
    assert over.status_code == 422  # the run is over: its feed is closed


def _notebook(*cells: str, tagged: int | None = None) -> dict[str, Any]:
    import nbformat

    nb = nbformat.v4.new_notebook()
    for i, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if i == tagged:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    return dict(nb)
