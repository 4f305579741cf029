"""Two frontends, one platform: two `suricate serve` processes with data dirs of their own on one
PostgreSQL database, one RabbitMQ vhost and one shared `file://` object store, plus an execution
node. A token works on both; an object uploaded through A is read through B; a session started
through A executes through B (and B's WebSocket hears what runs through A, B's actions feed an
action recorded through A), and still does after A is killed with -9; a schedule due every
minute fires once a minute in all, not once per replica, before and after the hand-over of the
lead.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from websockets.sync.client import connect

from tests.scenarios.test_processors_live import notebook
from tests.support import PASSWORD
from tests.support.rabbit import broker_url  # noqa: F401 (a fixture)
from tests.support.servers import clean_env, free_port, serve, suricate
from tests.support.services import scratch_postgres
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow


class Frontend:
    def __init__(self, name: str, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.name, self.process, self.url, self.log = name, process, url, log

    def http(self, token: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=auth, timeout=60)


@pytest.fixture
def platform(
    tmp_path: Path,
    broker_url: str,  # noqa: F811
) -> Iterator[Callable[[str], Frontend]]:
    """Start frontends on one database, vhost and shared store; each has its own data dir."""
    started: list[subprocess.Popen[bytes]] = []
    shared = tmp_path / "shared-objects"
    shared.mkdir()
    with scratch_postgres("suricate_replicas") as database:
        common = {
            "SURICATE_DATABASE_URL": database,
            "SURICATE_BROKER_URL": broker_url,
            "SURICATE_OBJECT_STORE_URL": f"file://{shared}",
            "SURICATE_SECRET_KEY": Fernet.generate_key().decode(),
            "SURICATE_WEBHOOK_SECRET": "replicas-test-secret",
            "SURICATE_KERNEL_POOL_SIZE": "0",
            "SURICATE_LOG_LEVEL": "info",
            "SURICATE_PASSWORD": PASSWORD,
        }

        def start(name: str) -> Frontend:
            env = clean_env(tmp_path / f"data-{name}") | common
            log = tmp_path / f"frontend-{name}.log"
            process, url = serve(env, free_port(), log, timeout=60)
            started.append(process)
            frontend = Frontend(name, process, url, log)
            frontend.env = env  # type: ignore[attr-defined]
            return frontend

        yield start
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


def start_node(env: dict[str, str], url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        node = subprocess.Popen(
            [sys.executable, "-m", "suricate", "execnode"],
            env=env | {"SURICATE_URL": url},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    wait_until(
        lambda: re.search(rb"execution node (\S+) serving", log.read_bytes()),
        timeout=60,
        interval=0.1,
        message=lambda: f"node did not start: {log.read_text()}",
    )
    return node


def execute(client: httpx.Client, session: str, code: str) -> dict[str, Any]:
    r = client.post(f"/sessions/{session}/execute", json={"code": code})
    assert r.status_code == 200, r.text
    reply: dict[str, Any] = r.json()
    assert reply["status"] == "ok", reply
    return reply


def text_of(reply: dict[str, Any]) -> str:
    return "".join(
        o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in reply["outputs"]
    )


def minute(stamp: str) -> str:
    return datetime.fromisoformat(stamp).strftime("%H:%M")


@pytest.mark.timeout(330)
def test_two_frontends_share_one_platform_and_survive_a_kill(
    platform: Callable[[str], Frontend], tmp_path: Path
) -> None:
    a = platform("a")
    b = platform("b")
    env = a.env  # type: ignore[attr-defined]
    suricate(env, "user", "create", "alice", "--tenant", "acme")
    token = suricate(env, "token", "create", "alice")
    node = start_node(env, b.url, tmp_path / "node.log")
    try:
        with a.http(token) as via_a, b.http(token) as via_b:
            # A token works on both.
            for client in (via_a, via_b):
                assert client.get("/objects").status_code == 200

            # An object uploaded through A is read through B.
            data = b"play,yards\n" + b"".join(b"%d,%d\n" % (i, i * 7 % 40) for i in range(2000))
            put = via_a.put(
                "/objects/plays.csv", content=data, headers={"Content-Type": "text/csv"}
            )
            assert put.status_code == 201, put.text
            assert via_b.get("/objects/plays.csv/content").content == data

            # A schedule due every minute, made through A (the leader: it started first).
            nb = {"name": "tick", "notebook": notebook("print('tick')")}
            nb_id = via_a.post("/notebooks", json=nb).json()["id"]
            made = via_a.post(f"/notebooks/{nb_id}/schedules", json={"cron": "* * * * *"})
            assert made.status_code == 201, made.text
            schedule = made.json()["id"]
            since = time.time()

            # A session started through A executes through B, and B's page hears A's cells.
            session = via_a.post("/sessions", json={}).json()["id"]
            execute(via_b, session, "x = 41")
            ws = f"{b.url.replace('http', 'ws', 1)}/api/v1/sessions/{session}/ws?token={token}"
            with connect(ws, open_timeout=30) as page:
                assert json.loads(page.recv(timeout=30))["type"] == "status"
                assert text_of(execute(via_a, session, "print(x + 1)")).strip() == "42"
                heard: list[dict[str, Any]] = []
                wait_until(
                    lambda: heard.append(json.loads(page.recv(timeout=30))) or heard,
                    until=lambda events: any(e["type"] == "result" for e in events),
                    timeout=30,
                    message=lambda: f"B's page heard {heard}",
                )
                outputs = [e["output"].get("text", "") for e in heard if e["type"] == "output"]
                assert "42\n" in outputs, heard

            # The actions feed through B hears an action recorded through A.
            with via_b.stream("GET", "/actions/feed", timeout=30) as feed:
                lines = feed.iter_lines()
                assert next(lines) == ": connected"
                made = via_a.post("/actions", json={"text": "watch the slot receiver"})
                assert made.status_code == 201, made.text
                data = next(line for line in lines if line.startswith("data: "))
                assert json.loads(data.removeprefix("data: "))["text"] == "watch the slot receiver"

            # The first due time fires (through the leader, A) ...
            runs = wait_until(
                lambda: via_b.get("/runs", params={"notebook_id": nb_id}).json()["items"],
                until=lambda items: len(items) >= 1,
                timeout=75,
                interval=0.5,
                message="the schedule never fired",
            )
            first_minute = minute(runs[0]["created_at"])

            # ... then A dies without a goodbye.
            a.process.kill()
            a.process.wait()
            killed_at = time.time()

            # B takes the lead within seconds.
            wait_until(
                lambda: "leads the singleton duties" in b.log.read_text(),
                timeout=15,
                interval=0.05,
                message="B never took the lead",
            )
            handover = time.time() - killed_at

            # The session goes on through B: same kernel, same variables; restart works too.
            assert text_of(execute(via_b, session, "print(x + 1)")).strip() == "42"
            restarted = via_b.post(f"/sessions/{session}/restart")
            assert restarted.status_code == 204, restarted.text
            assert text_of(execute(via_b, session, "print(1 + 1)")).strip() == "2"

            # The next due time fires once, through B; every due time once in all.
            def after_next_minute() -> list[dict[str, Any]]:
                items: list[dict[str, Any]] = via_b.get(
                    "/runs", params={"notebook_id": nb_id}
                ).json()["items"]
                return items

            runs = wait_until(
                after_next_minute,
                until=lambda items: (
                    any(minute(r["created_at"]) > first_minute for r in items)
                    and all(r["status"] not in ("queued", "running") for r in items)
                ),
                timeout=120,
                interval=0.5,
                message="the schedule never fired after the hand-over",
            )
            minutes = [minute(r["created_at"]) for r in runs]
            elapsed = time.time() - since
            print(
                f"\n[replicas] runs by minute {sorted(minutes)}, lead handed over in "
                f"{handover:.1f} s, {elapsed:.0f} s of schedule"
            )
            assert len(minutes) == len(set(minutes)), f"a due time fired twice: {minutes}"
            assert len(minutes) <= int(elapsed // 60) + 1
            info = via_b.get(f"/schedules/{schedule}").json()
            assert info["runs_started"] + info["runs_skipped"] == len(minutes)
            assert all(r["status"] == "succeeded" for r in runs), runs
            # The session is still listed, and usable, through B (beside, maybe, the kernel of a
            # run the schedule just started, or of one whose kernel is being shut down).
            assert session in [s["id"] for s in via_b.get("/sessions").json()["items"]]
            assert text_of(execute(via_b, session, "print(2 + 2)")).strip() == "4"
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=30)
