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
RETRAIN_CRON = "0 6 * * *"

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


def set_up(client: Client, game: str, rate: float, say: Say, progress: Progress = _quiet) -> None:
    """Upload the data, install and run the notebooks, deploy the processor, schedule."""
    upload_games(client, say, progress)
    progress("loading the demo: installing the notebooks", None, None)
    notebooks = install_notebooks(client, say)
    for done, name in enumerate(RUN_ONCE):
        progress(f"loading the demo: running {name}", done, len(RUN_ONCE))
        run_once(client, notebooks[name], name, say)
    progress("loading the demo: deploying the live processor", None, None)
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
    try:
        client.call("POST", "/streams", json=stream)
        say(f"stream {STREAM}: a replay of {live} at {rate:g} plays/s")
    except ApiError as exc:
        if exc.status != 409:
            raise
    running = [
        p
        for p in client.call("GET", "/processors", params={"stream": STREAM})["items"]
        if p["status"] in ("starting", "running")
    ]
    if not running:
        body = {"notebook_id": notebooks[PROCESSING], "stream": STREAM}
        processor = client.call("POST", "/processors", json=body)
        say(f"processor {processor['id']}: {PROCESSING} on {STREAM}")
    schedules = client.call("GET", f"/notebooks/{notebooks[RETRAIN]}/schedules")["items"]
    if not schedules:
        client.call(
            "POST", f"/notebooks/{notebooks[RETRAIN]}/schedules", json={"cron": RETRAIN_CRON}
        )
        say(f"{RETRAIN} scheduled at '{RETRAIN_CRON}' (UTC)")


def _exists(client: Client, name: str) -> bool:
    try:
        client.get_object(name)
        return True
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise


def upload_games(client: Client, say: Say, progress: Progress = _quiet) -> None:
    present = {o["name"] for o in client.list_objects(tag=GAMES_TAG)}
    files = sorted(DATA.glob("*.json.gz"))
    missing = [f for f in files if f"nfl-{f.name}" not in present]
    if missing:
        say(f"uploading {len(missing)} GameCenter files of the 2013 season")
    for done, path in enumerate(missing, 1):
        name = f"nfl-{path.name}"
        client.put_object(name, path.read_bytes(), "application/gzip")
        client.call("PATCH", f"/objects/{name}", json={"tags": [GAMES_TAG]})
        progress(f"loading the demo: {done} of {len(missing)} games", done, len(missing))
        if done % 50 == 0 or done == len(missing):
            say(f"  {done}/{len(missing)}")
    if not _exists(client, SCHEDULE):
        client.put_object(SCHEDULE, (DATA / "schedule-2013.json").read_bytes(), "application/json")


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


def run_once(client: Client, notebook_id: str, name: str, say: Say) -> None:
    """Run the notebook unless a run of it has succeeded already."""
    runs = client.call("GET", "/runs", params={"notebook_id": notebook_id, "limit": 100})
    if any(r["status"] == "succeeded" for r in runs["items"]):
        return
    run = client.run(notebook_id)
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
