"""`suricate demo`: the football story on real NFL data, set up on a running server.

Everything goes through the REST API as the demo user, as a user's own script would, and every
step first looks for what an earlier demo left: a second run reuses it all.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suricate.kernel.client import ApiError, Client
from suricate.keys import kept_secret

EXAMPLES = Path(__file__).parent / "football"
DATA = EXAMPLES / "data"
TENANT = USER = "demo"
GAMES_TAG = "gamecenter"
SCHEDULE = "nfl-schedule-2013.json"
STREAM = "nfl-live"
# Run once by the demo, in this order (the processing and retrain notebooks are not).
# The demo runs on one machine: the outbound guard lets it reach loopback (a local RabbitMQ).
DEMO_OUTBOUND = "127.0.0.1,::1,localhost"
RUN_ONCE = ("01-ingest", "02-favourite-receivers", "03-receiver-clusters", "04-tendencies")
PROCESSING = "05-live-defense"
RETRAIN = "06-retrain"
REPORT = "08-loop-report"
MODEL = "nfl-tendencies"
LIVE_PLAYS = "nfl-live-plays.jsonl"  # where 05 keeps the plays it sees
RETRAIN_ROWS = 1000  # 06 runs each time 05 has kept this many more plays
SEASON_STREAM = "nfl-season"
SEASON_REPLAY = "nfl-season-replay.jsonl"  # what 01 holds out of the table for the replay

Say = Callable[[str], None]
# What the set-up is doing, and how far along (done of total), for a banner or a bar.
Progress = Callable[[str, int | None, int | None], None]


def _quiet(text: str, done: int | None, total: int | None) -> None:
    del text, done, total


@dataclass(frozen=True)
class Login:
    user: str
    password: str
    token: str


def demo_password(data_dir: Path) -> str:
    """The demo user's password: made once, kept in the data dir (mode 0600)."""
    return kept_secret(
        data_dir / "demo-password", lambda: secrets.token_urlsafe(12).encode()
    ).decode()


def ensure_login(platform: Any) -> Login:
    """Create the demo tenant and user unless they exist; issue a token for the setup."""
    from suricate.errors import AlreadyExists

    password = demo_password(platform.settings.data_dir)
    with contextlib.suppress(AlreadyExists):
        platform.tenants.create_user(USER, password, TENANT)
    # One demo token at a time: the one printed last.
    for info in platform.tokens.list(USER):
        if info.name == "demo" and info.revoked_at is None:
            platform.tokens.revoke(str(info.id))
    token, _ = platform.tokens.create(USER, "demo")
    return Login(USER, password, token)


@dataclass(frozen=True)
class SeasonReplay:
    """Replay the rest of a season to the live processor, fast: the whole loop at work.

    The latest season's regular-season weeks from ``from_week`` on (and its postseason) are
    held out of the play table; the model is built on what came before; the held-out plays
    are replayed in game order at ``speed`` plays a second, and 06 retrains every
    ``retrain_every`` plays kept. ``games``: a folder of GameCenter files to upload instead
    of the 2013 season shipped (with a ``schedule*.json`` if there is one).
    """

    from_week: int = 5
    speed: float = 50.0
    retrain_every: int = RETRAIN_ROWS
    games: Path | None = None


def set_up(
    client: Client,
    game: str,
    rate: float,
    say: Say,
    progress: Progress = _quiet,
    season: SeasonReplay | None = None,
) -> None:
    """Upload the data, install and run the notebooks, deploy the processor, schedule."""
    schedule = upload_games(client, say, progress, season.games if season else None)
    progress("loading the demo: installing the notebooks", None, None)
    notebooks = install_notebooks(client, say)
    ingest: dict[str, Any] = {} if schedule == SCHEDULE else {"schedule": schedule}
    steps: tuple[str, ...] = RUN_ONCE
    if season is not None:
        # 02 and 03 look at one quarterback of 2013: not part of a season's replay.
        steps = ("01-ingest", "04-tendencies")
        ingest["replay_week"] = season.from_week
    again = False  # a table made anew is followed by its model made anew
    for done, name in enumerate(steps):
        progress(f"loading the demo: running {name}", done, len(steps))
        params = ingest if name == "01-ingest" else {}
        again = run_once(client, notebooks[name], name, say, params, again) or again
    retrain_on_new_plays(client, notebooks[RETRAIN], season, say)
    progress("loading the demo: deploying the live processor", None, None)
    if season is not None:
        stream = {"name": SEASON_STREAM, "type": "replay", "object": SEASON_REPLAY,
                  "rate": season.speed, "loop": False}  # fmt: skip
        deploy(client, notebooks[PROCESSING], stream, say)
        return
    live = f"nfl-live-{game}.jsonl"
    if not _exists(client, live):
        from suricate.demo.football.feed import read_game, schedule_entry
        from suricate.demo.football.gamecenter import plays_of_game

        path = DATA / f"{game}.json.gz"
        if not path.exists():
            raise RuntimeError(f"no game {game} in the demo data ({DATA})")
        rows = plays_of_game(read_game(path), schedule_entry(game, [DATA / "schedule-2013.json"]))
        data = "".join(json.dumps(row) + "\n" for row in rows).encode()
        client.put_object(live, data, "application/x-ndjson")
        say(f"saved the {len(rows)} plays of game {game} as {live}")
    stream = {"name": STREAM, "type": "replay", "object": live, "rate": rate, "loop": True}
    deploy(client, notebooks[PROCESSING], stream, say)


def deploy(client: Client, notebook_id: str, stream: dict[str, Any], say: Say) -> None:
    """Define the stream unless it exists; run the processing notebook on it unless it runs."""
    name = stream["name"]
    try:
        client.call("POST", "/streams", json=stream)
        say(f"stream {name}: a replay of {stream['object']} at {stream['rate']:g} plays/s")
    except ApiError as exc:
        if exc.status != 409:
            raise
    processors = client.call("GET", "/processors", params={"stream": name})["items"]
    if not [p for p in processors if p["status"] in ("starting", "running")]:
        body = {"notebook_id": notebook_id, "stream": name}
        processor = client.call("POST", "/processors", json=body)
        say(f"processor {processor['id']}: {PROCESSING} on {name}, following {MODEL}@champion")


def retrain_on_new_plays(
    client: Client, notebook_id: str, season: SeasonReplay | None, say: Say
) -> None:
    """Schedule 06 on data: each time the live processor has kept enough new plays."""
    rows = season.retrain_every if season else RETRAIN_ROWS
    trigger = {"object": LIVE_PLAYS, "rows": rows}
    schedules = client.call("GET", f"/notebooks/{notebook_id}/schedules")["items"]
    if any(s.get("trigger") == trigger for s in schedules):
        return
    for old in schedules:  # an earlier demo's schedule (a cron, or another count of plays)
        client.call("DELETE", f"/schedules/{old['id']}")
    client.call("POST", f"/notebooks/{notebook_id}/schedules", json={"trigger": trigger})
    say(f"{RETRAIN} runs each time {LIVE_PLAYS} has gained {rows} plays")


def _exists(client: Client, name: str) -> bool:
    try:
        client.get_object(name)
        return True
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise


def upload_games(
    client: Client, say: Say, progress: Progress = _quiet, folder: Path | None = None
) -> str:
    """Upload the GameCenter files (the 2013 season shipped, or those of ``folder``) tagged
    ``gamecenter``, and a schedule; return the schedule's object name."""
    present = {o["name"] for o in client.list_objects(tag=GAMES_TAG)}
    if folder is not None:
        files = sorted(p for p in folder.glob("*.json*") if p.name[:1].isdigit())
        schedules = sorted(folder.glob("schedule*.json"))
        if not files:
            raise RuntimeError(f"no GameCenter file (<eid>.json or .json.gz) in {folder}")
    else:
        files, schedules = sorted(DATA.glob("*.json.gz")), [DATA / "schedule-2013.json"]
    missing = [f for f in files if f"nfl-{f.name}" not in present]
    if missing:
        where = f"from {folder}" if folder else "of the 2013 season"
        say(f"uploading {len(missing)} GameCenter files {where}")
    for done, path in enumerate(missing, 1):
        name = f"nfl-{path.name}"
        client.put_object(name, path.read_bytes(), "application/gzip")
        client.call("PATCH", f"/objects/{name}", json={"tags": [GAMES_TAG]})
        progress(f"loading the demo: {done} of {len(missing)} games", done, len(missing))
        if done % 50 == 0 or done == len(missing):
            say(f"  {done}/{len(missing)}")
    if not schedules:
        say("no schedule: weeks and season types come from the game dates")
        return "no-schedule.json"
    name = SCHEDULE if folder is None else f"nfl-{schedules[0].name}"
    if not _exists(client, name):
        client.put_object(name, schedules[0].read_bytes(), "application/json")
    return name


def install_notebooks(client: Client, say: Say) -> dict[str, str]:
    """Import the example notebooks that are not there yet; return name -> id."""
    ids = {}
    for path in sorted(EXAMPLES.glob("*.ipynb")):
        name = path.stem
        try:
            ids[name] = client.find_notebook(name)["id"]
            continue
        except ApiError as exc:
            if exc.status != 404:
                raise
        kind = "processing" if name == PROCESSING else "analytics"
        created = client.call(
            "POST",
            "/notebooks/import",
            params={"name": name, "kind": kind},
            content=path.read_bytes(),
            headers={"Content-Type": "application/x-ipynb+json"},
        )
        ids[name] = created["id"]
        say(f"notebook {name} installed")
    return ids


def run_once(
    client: Client,
    notebook_id: str,
    name: str,
    say: Say,
    parameters: dict[str, Any] | None = None,
    again: bool = False,
) -> bool:
    """Run the notebook unless a run of it with these parameters has succeeded already (or
    ``again``); tell whether it ran."""
    parameters = parameters or {}
    runs = client.call("GET", "/runs", params={"notebook_id": notebook_id, "limit": 100})
    done = any(r["status"] == "succeeded" and r["parameters"] == parameters for r in runs["items"])
    if done and not again:
        return False
    run = client.run(notebook_id, parameters)
    say(f"running {name} ...")
    while run["status"] in ("queued", "running"):
        time.sleep(0.5)
        run = client.get_run(run["id"])
    if run["status"] != "succeeded":
        error = run.get("error") or {}
        raise RuntimeError(
            f"{name} {run['status']}: {error.get('ename')}: {error.get('evalue')} "
            f"(cell {error.get('cell')}; see GET /api/v1/runs/{run['id']}/notebook)"
        )
    say(f"{name} succeeded in {run['duration_s']:.1f} s")
    return True
