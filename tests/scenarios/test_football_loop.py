"""The football story on the whole loop, through a real server and real kernels: a season the
model has not seen is replayed to the live processor, which follows `nfl-tendencies@champion`;
06 retrains on the plays it kept and promotes; 08 shows the retrained advice beat the frozen one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from suricate.demo import LIVE_PLAYS, MODEL, SEASON_REPLAY, SeasonReplay, set_up
from suricate.demo.football.gamecenter import game_calendar
from suricate.kernel.client import Client
from tests.support.servers import Server
from tests.support.wait import wait_until

DATA = Path(__file__).parents[2] / "src" / "suricate" / "demo" / "football" / "data"
WEEKS = (1, 2, 3)  # the model is built on week 1; weeks 2 and 3 are replayed
FROM_WEEK = 2


def regular_season_games(weeks: tuple[int, ...]) -> list[Path]:
    """The 2013 regular-season games of these weeks, their weeks read off the dates alone."""
    found = []
    for path in sorted(DATA.glob("*.json.gz")):
        calendar = game_calendar(path.name.removesuffix(".json.gz"))
        if calendar["season_type"] == "REG" and calendar["week"] in weeks:
            found.append(path)
    return found


def finished_runs(http: httpx.Client, notebook_id: str) -> list[dict[str, Any]]:
    runs = http.get("/runs", params={"notebook_id": notebook_id, "limit": 200}).json()["items"]
    return [r for r in runs if r["status"] not in ("queued", "running")]


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_a_replayed_season_is_retrained_promoted_and_beats_the_frozen_model(
    start_server: Callable[..., Server], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # A season's files as a user has them: GameCenter files, no schedule.
    games = tmp_path / "games"
    games.mkdir()
    for path in regular_season_games(WEEKS):
        shutil.copy(path, games / path.name)
    server = start_server(SURICATE_KERNEL_POOL_SIZE="1")
    season = SeasonReplay(from_week=FROM_WEEK, speed=60, retrain_every=1000, games=games)
    said: list[str] = []
    with Client(server.url, server.token, timeout=300) as client:
        set_up(client, "2013090500", 1.0, said.append, season=season)
    http = httpx.Client(base_url=f"{server.url}/api/v1", headers=server.headers(), timeout=60)
    request.addfinalizer(http.close)
    replay = http.get(f"/objects/{SEASON_REPLAY}/content").text.splitlines()
    weeks = {json.loads(line)["week"] for line in replay}
    assert weeks == {2, 3}, "01 held weeks 2 and 3 out of the table"
    model = http.get(f"/models/{MODEL}").json()
    assert model["aliases"] == {"champion": 1}  # 04's model, built on week 1 alone

    processor = http.get("/processors", params={"stream": "nfl-season"}).json()["items"][0]
    wait_until(
        lambda: http.get(f"/processors/{processor['id']}").json(),
        until=lambda p: p["processed"] >= len(replay) or p["failed"],
        timeout=240,
        interval=1,
        message="the season replay did not reach its end",
    )
    assert http.get(f"/processors/{processor['id']}").json()["failed"] == 0
    http.post(f"/objects/{LIVE_PLAYS}/rows/flush")
    notebooks = {n["name"]: n["id"] for n in http.get("/notebooks").json()["items"]}
    # Each retrain the processor's plays fired has ended (the last may start after the flush).
    wait_until(
        lambda: http.get("/runs", params={"notebook_id": notebooks["06-retrain"]}).json(),
        until=lambda page: (
            page["items"] and all(r["status"] not in ("queued", "running") for r in page["items"])
        ),
        timeout=120,
        interval=1,
        message="06-retrain did not finish",
    )
    retrains = finished_runs(http, notebooks["06-retrain"])
    assert retrains and all(r["status"] == "succeeded" for r in retrains), retrains

    # The champion moved, by a retrain's promotion: its version came from a run of 06.
    model = http.get(f"/models/{MODEL}").json()
    champion = model["aliases"]["champion"]
    assert champion > 1, model["aliases"]
    promoted = next(v for v in model["versions"] if v["version"] == champion)
    assert promoted["lineage"]["run"] in {r["id"] for r in retrains}
    assert promoted["metrics"]["brier"] < promoted["metrics"]["champion_brier"]
    read = {o["name"] for o in promoted["lineage"]["objects"]}
    assert {LIVE_PLAYS, "nfl-plays.parquet"} <= read

    # Actions before the move carry version 1, after it the promoted versions.
    def actions_of(version: int) -> list[dict[str, Any]]:
        params = {"model": MODEL, "model_version": version, "processor": processor["id"]}
        return list(http.get("/actions", params=params | {"limit": 5}).json()["items"])

    used = {v["version"]: actions_of(v["version"]) for v in model["versions"]}
    assert used[1] and all(a["models"] == {MODEL: 1} for a in used[1])
    later = [v for v, found in used.items() if v > 1 and found]
    assert later, "no play was advised by a promoted version"
    assert all(a["models"] == {MODEL: v} for v in later for a in used[v])

    # 08: week by week, the retrained advice predicted the calls better than the frozen one.
    run = http.post(f"/notebooks/{notebooks['08-loop-report']}/runs", json={}).json()
    run = wait_until(
        lambda: http.get(f"/runs/{run['id']}").json(),
        until=lambda r: r["status"] not in ("queued", "running"),
        timeout=120,
        interval=0.5,
    )
    assert run["status"] == "succeeded", run
    report = json.loads(http.get("/objects/nfl-loop-report.json/content").text)
    for week in [*report["weeks"], report["total"]]:  # the figures, for the record
        print({k: week.get(k) for k in ("week", "snaps", "frozen_brier", "retrained_brier")})
    assert report["frozen_version"] == 1
    assert [w["week"] for w in report["weeks"]] == [2, 3]
    total, last = report["total"], report["weeks"][-1]
    assert total["snaps"] > 3000
    assert total["retrained_brier"] < total["frozen_brier"]
    assert last["retrained_brier"] < last["frozen_brier"]
    assert last["versions"] != [1]
