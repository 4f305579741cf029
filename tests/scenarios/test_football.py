"""The football example: its notebooks on real NFL GameCenter play-by-play, through the API."""

from __future__ import annotations

import gzip
import io
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pika
import pytest
from fastapi.testclient import TestClient

from suricate.demo.football import feed
from suricate.demo.football.gamecenter import (
    COLUMNS,
    box_score_check,
    game_calendar,
    plays_of_game,
)
from suricate.demo.football.tendencies import advise, build_model, select_games
from tests.support.api import finished_run
from tests.support.wait import wait_until

FOOTBALL = Path(feed.__file__).parent
DATA = FOOTBALL / "data"
SCHEDULE = json.loads((DATA / "schedule-2013.json").read_text())
WEEK_ONE = sorted(e for e, g in SCHEDULE.items() if (g["season_type"], g["week"]) == ("REG", 1))
MORE = [
    "2013112411",  # DEN at NE, overtime
    "2013092208",  # a pass with six laterals
    "2013091508",  # a play with two forward passes
    "2013081500",  # preseason; the feed lacks plays its box score counts
    "2013010500",  # 2012 postseason
]
GAMES = WEEK_ONE + MORE
NEW_GAME = "2013091200"  # week 2, NYJ at NE: the "new plays" of the retrain job
MANNING = "00-0010346"


pytestmark = [
    pytest.mark.sqlite_only("kernels do the work here: one database keeps these tests quick"),
    pytest.mark.settings(kernel_pool_size=1),
]


def raw_game(eid: str) -> dict[str, Any]:
    return dict(json.loads(gzip.decompress((DATA / f"{eid}.json.gz").read_bytes())))


def rows_of(eid: str) -> list[dict[str, Any]]:
    return plays_of_game(raw_game(eid), SCHEDULE.get(eid))


def upload(client: TestClient, name: str, data: bytes, tags: list[str] | None = None) -> None:
    r = client.put(f"/api/v1/objects/{name}", content=data)
    assert r.status_code == 201, r.text
    if tags:
        r = client.patch(f"/api/v1/objects/{name}", json={"tags": tags})
        assert r.status_code == 200, r.text


def champion(client: TestClient, model: dict[str, Any]) -> None:
    """Log the tendencies as a version of nfl-tendencies and make it the champion."""
    r = client.post(
        "/api/v1/models/nfl-tendencies/versions",
        data={"flavor": "json", "meta": json.dumps({})},
        files={"artifact": ("m.json", io.BytesIO(json.dumps(model).encode()))},
    )
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    r = client.put("/api/v1/models/nfl-tendencies/aliases/champion", json={"version": version})
    assert r.status_code == 200, r.text


def content(client: TestClient, name: str) -> bytes:
    r = client.get(f"/api/v1/objects/{name}/content")
    assert r.status_code == 200, r.text
    return r.content


def versions(client: TestClient, name: str) -> int:
    return len(client.get(f"/api/v1/objects/{name}").json()["versions"])


def import_notebook(client: TestClient, filename: str) -> str:
    data = (FOOTBALL / filename).read_bytes()
    r = client.post(
        f"/api/v1/notebooks/import?name={filename.removesuffix('.ipynb')}", content=data
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def run(client: TestClient, nb_id: str, **parameters: Any) -> nbformat.NotebookNode:
    """Run a notebook to the end; return the executed notebook, or fail with its error."""
    r = client.post(f"/api/v1/notebooks/{nb_id}/runs", json={"parameters": parameters})
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    record = finished_run(client, run_id, timeout=120, interval=0.2)
    executed = nbformat.reads(client.get(f"/api/v1/runs/{run_id}/notebook").text, 4)
    if record["status"] != "succeeded":
        errors = [
            o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"
        ]
        trace = "\n".join(errors[0].traceback) if errors else ""
        raise AssertionError(f"run {record['status']}: {record['error']}\n{trace}")
    return executed


def printed(executed: nbformat.NotebookNode) -> str:
    return "".join(
        o.get("text", "")
        for c in executed.cells
        for o in c.get("outputs", [])
        if o.output_type == "stream"
    )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values, to compare tables whatever their dtypes."""
    return list(json.loads(frame.to_json(orient="records")))


def independent_receiving(eid: str, passer_id: str) -> dict[str, dict[str, int]]:
    """Per receiver of a passer: targets counted from the raw stat ids, the rest from the box."""
    game = raw_game(eid)[eid]
    targets: Counter[str] = Counter()
    for drive in game["drives"].values():
        for play in drive["plays"].values() if isinstance(drive, dict) else []:
            credits = [(pid, s["statId"]) for pid, stats in play["players"].items() for s in stats]
            if any(pid == passer_id and stat in (14, 15, 16, 19) for pid, stat in credits):
                targets.update(pid for pid, stat in credits if stat == 115)
    team = next(s for s in ("home", "away") if passer_id in game[s]["stats"]["passing"])
    box = game[team]["stats"]["receiving"]
    empty = {"rec": 0, "yds": 0, "tds": 0}
    return {
        pid: {"targets": targets[pid], "receptions": box.get(pid, empty)["rec"],
              "yards": box.get(pid, empty)["yds"], "touchdowns": box.get(pid, empty)["tds"]}
        for pid in set(box) | set(targets)
    }  # fmt: skip


def test_every_2013_game_flattens_exactly_as_its_stat_ids_count() -> None:
    games = sorted(p.name.removesuffix(".json.gz") for p in DATA.glob("*.json.gz"))
    assert len(games) == 332
    feed_gaps = set()
    for eid in games:
        raw = raw_game(eid)
        mismatches = box_score_check(raw, plays_of_game(raw, SCHEDULE[eid]))
        assert [m for m in mismatches if m["cause"] != "feed"] == []
        feed_gaps.update(m["eid"] for m in mismatches)
        without_schedule = game_calendar(eid)
        entry = SCHEDULE[eid]
        assert without_schedule["season"] == entry["year"]
        assert without_schedule["week"] == entry["week"]
        assert without_schedule["season_type"] == entry["season_type"]
    # Eleven feeds lack plays (or a player's id) their box scores count, or the reverse.
    assert len(feed_gaps) == 11
    assert "2013081500" in feed_gaps and "2013090500" not in feed_gaps


def test_a_play_row_has_the_situation_and_the_figures() -> None:
    rows = {row["id"]: row for row in rows_of("2013090500")}
    first = rows["2013090500-51"]
    assert first["posteam"] == "BAL" and first["defteam"] == "DEN"
    assert (first["down"], first["ydstogo"], first["yardline_100"]) == (1, 10, 80)
    assert (first["zone"], first["play_type"], first["season"], first["week"]) == (
        "own deep", "pass", 2013, 1,
    )  # fmt: skip
    assert (first["passer"], first["target"], first["receiver"]) == ("J.Flacco", "R.Rice", "R.Rice")
    assert first["complete"] and first["yards"] == first["receiver_yards"] == -1
    kickoff = rows["2013090500-36"]
    assert kickoff["play_type"] == "kickoff" and kickoff["down"] == 0
    two_passes = [r for r in rows_of("2013091508") if r["id"].startswith("2013091508-4392")]
    assert [r["receiver"] for r in two_passes] == ["J.Avant", "J.Peters"]
    assert [lat["player"] for lat in two_passes[0]["laterals"]] == ["R.Cooper", "M.Vick"]
    overtime = rows_of("2013112411")
    assert max(r["qtr"] for r in overtime) == 5
    assert [r["qtr"] for r in overtime] == sorted(r["qtr"] for r in overtime)


def test_the_feed_writes_and_publishes_a_game_in_order(broker_url: str, tmp_path: Path) -> None:
    out = tmp_path / "plays.jsonl"
    assert feed.main(["--game", "2013090500", "--write", str(out)]) == 0
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == json.loads(json.dumps(rows_of("2013090500")))
    queue = f"nfl-plays-{uuid.uuid4().hex[:8]}"
    path = str(DATA / "2013090500.json.gz")
    assert feed.main(["--url", broker_url, "--queue", queue, "--file", path, "--speed", "0"]) == 0
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        received = []
        while (message := channel.basic_get(queue, auto_ack=True))[0] is not None:
            received.append(json.loads(message[2]))
        channel.queue_delete(queue)
    finally:
        connection.close()
    assert received == written


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_notebooks_answer_from_the_play_by_play(alice: TestClient) -> None:
    for eid in GAMES:
        upload(
            alice, f"nfl-2013-{eid}.json.gz", (DATA / f"{eid}.json.gz").read_bytes(), ["gamecenter"]
        )
    upload(alice, "nfl-schedule-2013.json", (DATA / "schedule-2013.json").read_bytes())

    # 1: the play table is what gamecenter.py gives, and it passed the box score check.
    ingest = import_notebook(alice, "01-ingest.ipynb")
    run(alice, ingest, schedule="no-such-schedule.json", output="nfl-plays-unscheduled.parquet")
    unscheduled = pd.read_parquet(io.BytesIO(content(alice, "nfl-plays-unscheduled.parquet")))
    executed = run(alice, ingest)
    table = pd.read_parquet(io.BytesIO(content(alice, "nfl-plays.parquet")))
    expected = pd.DataFrame([row for eid in sorted(GAMES) for row in rows_of(eid)], columns=COLUMNS)
    assert records(table) == records(expected)
    assert records(unscheduled) == records(table)  # weeks and season types from the dates
    check = json.loads(content(alice, "nfl-box-score-check.json"))
    assert check["games"] == len(GAMES) and check["matching"] == len(GAMES) - 1
    assert {m["eid"] for m in check["mismatches"]} == {"2013081500"}
    assert f"{len(GAMES) - 1} of {len(GAMES)} games" in printed(executed)

    # 2: Manning's favourite in week 1 (DEN-BAL), each figure an independent count.
    favourites_nb = import_notebook(alice, "02-favourite-receivers.ipynb")
    executed = run(alice, favourites_nb)
    answer = "P.Manning's favourite receiver in week 1 of 2013: W.Welker (11 targets)"
    assert answer + ", tied on targets with D.Thomas; more catches (9 vs 5)" in printed(executed)
    favourites = json.loads(content(alice, "nfl-favourites-P.Manning.json"))
    assert favourites["favourite"] == "W.Welker" and favourites["games"] == ["2013090500"]
    independent = independent_receiving("2013090500", MANNING)
    figures = {
        r["player_id"]: {k: r[k] for k in ("targets", "receptions", "yards", "touchdowns")}
        for r in favourites["receivers"]
    }
    assert figures == independent
    assert [r["receiver"] for r in favourites["receivers"][:2]] == ["W.Welker", "D.Thomas"]
    welker = favourites["receivers"][0]
    assert [welker[k] for k in ("targets", "receptions", "yards", "touchdowns")] == [11, 9, 67, 2]
    assert sum(favourites["targets_by_down"]["00-0022427"].values()) == 11

    # ... and in one game of another team, chosen by eid.
    run(alice, favourites_nb, quarterback="J.Flacco", eid="2013090500", week=None)
    flacco = json.loads(content(alice, "nfl-favourites-J.Flacco.json"))
    assert {r["player_id"]: r["receptions"] for r in flacco["receivers"]} == {
        pid: f["receptions"] for pid, f in independent_receiving("2013090500", "00-0026158").items()
    }

    # 3: Manning's receivers over his 2013 games here, in clusters.
    run(alice, import_notebook(alice, "03-receiver-clusters.ipynb"))
    clusters = json.loads(content(alice, "nfl-clusters-P.Manning.json"))
    assert len(clusters["clusters"]) == 3
    assert all(r["targets"] >= 5 for r in clusters["receivers"])
    assert {r["cluster"] for r in clusters["receivers"]} == {0, 1, 2}

    # 4: the tendencies model, as tendencies.py builds it, in the documented shape.
    tendencies_nb = import_notebook(alice, "04-tendencies.ipynb")
    run(alice, tendencies_nb)
    model = json.loads(content(alice, "nfl-tendencies.json"))
    assert model == json.loads(json.dumps(build_model(*select_games(table))))
    assert model["selection"] == "2013 REG" and model["games"] == 19
    assert set(model) == {"version", "selection", "games", "plays", "distances", "zones", "teams"}
    den = model["teams"]["DEN"]
    assert {"*|*|*", "3|*|*", "3|long|*"} <= set(den["situations"])
    # ... and logged as version 1 of the model nfl-tendencies, the champion.
    registered = alice.get("/api/v1/models/nfl-tendencies").json()
    assert registered["aliases"] == {"champion": 1}
    assert alice.get("/api/v1/models/nfl-tendencies/versions/1/artifact").json() == model
    assert 0 < registered["versions"][0]["metrics"]["train_brier"] < 0.25
    overall = den["situations"]["*|*|*"]
    assert overall["plays"] == den["plays"] == overall["pass"] + overall["run"] + overall["kick"]
    assert set(overall) == {
        "plays", "pass", "run", "kick", "pass_pct", "kick_pct", "targets", "top_targets"
    }  # fmt: skip
    assert overall["top_targets"][0]["receiver"] in ("W.Welker", "D.Thomas")

    # 6: the plays the processor kept go into the table once; a candidate learns from them but
    # the newest, is judged against the champion on those, logged, and promoted if better.
    retrain = import_notebook(alice, "06-retrain.ipynb")
    run(alice, retrain)  # no new plays yet
    assert versions(alice, "nfl-plays.parquet") == 1
    new_rows = rows_of(NEW_GAME)
    for row in new_rows:  # as a live feed might send them: without what can be derived
        for column in ("id", "season", "week", "season_type", "game_date", "zone", "yardline_100"):
            del row[column]
    lines = [json.dumps(row) for row in new_rows] + [json.dumps(rows_of("2013090500")[5])]
    upload(alice, "nfl-live-plays.jsonl", "\n".join(lines).encode())
    executed = run(alice, retrain, min_holdout_snaps=10)
    assert f"{len(new_rows)} new plays" in printed(executed)
    grown = pd.read_parquet(io.BytesIO(content(alice, "nfl-plays.parquet")))
    assert len(grown) == len(table) + len(new_rows)
    assert grown.dtypes.to_dict() == table.dtypes.to_dict()
    added = grown[grown.eid == NEW_GAME]
    assert records(added.reset_index(drop=True)[COLUMNS]) == records(
        pd.DataFrame(rows_of(NEW_GAME), columns=COLUMNS)
    )
    registered = alice.get("/api/v1/models/nfl-tendencies").json()
    assert registered["latest_version"] == 2
    logged = registered["versions"][0]
    held = int(len(new_rows) * 0.3)
    learnt = grown.iloc[: len(grown) - held]
    candidate = json.loads(json.dumps(build_model(*select_games(learnt))))
    assert alice.get("/api/v1/models/nfl-tendencies/versions/2/artifact").json() == candidate
    assert candidate["games"] == 20
    metrics = logged["metrics"]
    assert {"brier", "log_loss", "holdout_snaps", "champion_brier"} <= set(metrics)
    promoted = metrics["brier"] < metrics["champion_brier"]
    assert registered["aliases"] == {"champion": 2 if promoted else 1}
    assert logged["params"]["champion_version"] == 1
    assert {o["name"] for o in logged["lineage"]["objects"]} >= {
        "nfl-plays.parquet", "nfl-live-plays.jsonl"
    }  # fmt: skip
    executed = run(alice, retrain)  # the same new plays again: nothing changes
    assert "0 new plays" in printed(executed)
    assert versions(alice, "nfl-plays.parquet") == 2
    assert alice.get("/api/v1/models/nfl-tendencies").json()["latest_version"] == 2


def all_actions(client: TestClient, processor_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"processor": processor_id, "limit": 1000}
    while True:
        page = client.get("/api/v1/actions", params=params).json()
        items.extend(page["items"])
        if not page["next"]:
            return items
        params["cursor"] = page["next"]


def all_processed(client: TestClient, processor_id: str, count: int) -> None:
    """Wait until the processor has handled `count` messages, none failing."""

    def record() -> dict[str, Any]:
        proc = client.get(f"/api/v1/processors/{processor_id}").json()
        assert proc["failed"] == 0, proc
        return dict(proc)

    wait_until(
        record,
        until=lambda proc: proc["processed"] >= count,
        timeout=90,
        interval=0.2,
        message="not every play was processed",
    )


def test_the_live_notebook_advises_the_defense_before_each_snap(alice: TestClient) -> None:
    table = pd.DataFrame([row for eid in GAMES for row in rows_of(eid)], columns=COLUMNS)
    model = json.loads(json.dumps(build_model(*select_games(table))))
    champion(alice, model)
    plays = rows_of("2013090500")
    upload(
        alice, "nfl-live-2013090500.jsonl", "".join(json.dumps(p) + "\n" for p in plays).encode()
    )
    r = alice.post(
        "/api/v1/streams",
        json={
            "name": "live",
            "type": "replay",
            "object": "nfl-live-2013090500.jsonl",
            "rate": 1000,
        },
    )
    assert r.status_code == 201, r.text
    nb_id = import_notebook(alice, "05-live-defense.ipynb")
    assert alice.get(f"/api/v1/notebooks/{nb_id}").json()["kind"] == "processing"
    r = alice.post("/api/v1/processors", json={"notebook_id": nb_id, "stream": "live"})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    all_processed(alice, pid, len(plays))
    actions = all_actions(alice, pid)
    expected = [a for a in (advise(model, json.loads(json.dumps(p))) for p in plays) if a]
    assert 100 < len(expected) < len(plays)  # no advice on kickoffs, extra points, timeouts
    assert Counter(a["text"] for a in actions) == Counter(a["text"] for a in expected)
    first = next(a for a in actions if a["data"]["team"] == "BAL" and a["data"]["down"] == 1)
    assert first["text"].startswith("1st and 10 at own 20: pass ")
    assert {"team", "down", "pass_pct", "watch", "defense"} <= set(first["data"])
    third = [a["text"] for a in actions if a["text"].startswith("3rd and ")]
    assert third and all(" - watch " in t for t in third)
    punting = [
        a["text"] for a in actions if a["text"].startswith("4th and ") and " own " in a["text"]
    ]
    assert punting and all(", kick " in t for t in punting)

    # Step 6b: every play seen joins the data, once per play (its rows are recorded with the
    # report that counted it, a moment after the count shows).
    # Each with the advice given before it, and the model version that gave it.
    def kept() -> list[dict[str, Any]]:
        alice.post("/api/v1/objects/nfl-live-plays.jsonl/rows/flush")
        content = alice.get("/api/v1/objects/nfl-live-plays.jsonl/content")
        lines = content.text.splitlines() if content.status_code == 200 else []
        return sorted((json.loads(line) for line in lines), key=lambda row: str(row["id"]))

    wanted = sorted({p["id"] for p in plays})
    rows = wait_until(kept, until=lambda rows: len(rows) >= len(wanted), timeout=60)
    assert [row["id"] for row in rows] == wanted
    assert {row["advice_model"] for row in rows} == {1}
    advised = [row for row in rows if row["advice_pass_pct"] is not None]
    assert len(advised) == len(expected)
    assert all(a["models"] == {"nfl-tendencies": 1} for a in actions)
    alice.delete(f"/api/v1/processors/{pid}")


def test_the_live_notebook_runs_on_a_game_fed_over_rabbitmq(
    alice: TestClient, broker_url: str
) -> None:
    table = pd.DataFrame([row for eid in GAMES for row in rows_of(eid)], columns=COLUMNS)
    model = json.loads(json.dumps(build_model(*select_games(table))))
    champion(alice, model)
    queue = f"nfl-plays-{uuid.uuid4().hex[:8]}"
    r = alice.post(
        "/api/v1/streams",
        json={"name": "nfl-amqp", "type": "amqp", "uri": broker_url, "queue": queue},
    )
    assert r.status_code == 201, r.text
    nb_id = import_notebook(alice, "05-live-defense.ipynb")
    pid = alice.post(
        "/api/v1/processors", json={"notebook_id": nb_id, "stream": "nfl-amqp"}
    ).json()["id"]
    wait_until(
        lambda: alice.get(f"/api/v1/processors/{pid}").json(),
        until=lambda proc: proc["status"] == "running",
        timeout=90,
        interval=0.2,
        message="the processor never ran",
    )
    # The feed script, as a user runs it: the game's plays in order, onto the broker.
    path = str(DATA / "2013090500.json.gz")
    assert feed.main(["--url", broker_url, "--queue", queue, "--file", path, "--speed", "0"]) == 0
    plays = rows_of("2013090500")
    all_processed(alice, pid, len(plays))
    expected = [a for a in (advise(model, json.loads(json.dumps(p))) for p in plays) if a]
    actions = all_actions(alice, pid)
    assert [a["text"] for a in actions] == [a["text"] for a in expected], "in game order"
    alice.delete(f"/api/v1/processors/{pid}")
