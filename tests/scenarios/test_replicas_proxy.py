"""A rolling restart under load: two frontends and two execution nodes on PostgreSQL, RabbitMQ
and a shared `file://` store, behind Debian's nginx with the shipped config; about 50
simulated users (sessions and executes, reads, uploads, runs, a session's live WebSocket). One
frontend is killed with -9 mid-load and started again, then the other is restarted (SIGTERM).

After: no run lost or left unfinished, no execute applied twice, no schedule due time fired
twice, every session still usable, each user saw at most one failed request per disruption,
and the live WebSockets heard events again after the last restart. It prints its figures.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from websockets.sync.client import connect

from tests.scenarios.test_processors_live import notebook
from tests.scenarios.test_replicas import start_node
from tests.support import PASSWORD
from tests.support.proxy import nginx
from tests.support.rabbit import broker_url  # noqa: F401 (a fixture)
from tests.support.servers import clean_env, free_port, serve, suricate
from tests.support.services import scratch_postgres
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

USERS = 50
SESSIONS = 4
LOAD_SECONDS = 50.0


@dataclass
class User:
    kind: str
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    executes: int = 0  # executes answered ok (the kernel's counter must say the same)
    runs: list[str] = field(default_factory=list)
    events_after_restart: int = 0


class Site:
    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path, self.env = tmp_path, env
        self.ports = [free_port(), free_port()]
        self.processes: list[subprocess.Popen[bytes] | None] = [None, None]

    def start(self, i: int) -> None:
        log = self.tmp_path / f"frontend{i}-{time.monotonic_ns()}.log"
        env = clean_env(self.tmp_path / f"data{i}") | self.env
        self.processes[i], _ = serve(env, self.ports[i], log, timeout=90)

    def kill(self, i: int) -> None:
        process = self.processes[i]
        assert process is not None
        process.kill()
        process.wait()

    def stop(self, i: int) -> None:
        process = self.processes[i]
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


@pytest.fixture
def site(tmp_path: Path, broker_url: str) -> Iterator[Site]:  # noqa: F811
    shared = tmp_path / "shared-objects"
    shared.mkdir()
    with scratch_postgres("suricate_rolling") as database:
        env = {
            "SURICATE_DATABASE_URL": database,
            "SURICATE_BROKER_URL": broker_url,
            "SURICATE_OBJECT_STORE_URL": f"file://{shared}",
            "SURICATE_SECRET_KEY": Fernet.generate_key().decode(),
            "SURICATE_WEBHOOK_SECRET": "rolling-test-secret",
            "SURICATE_KERNEL_POOL_SIZE": "0",
            "SURICATE_PASSWORD": PASSWORD,
            "SURICATE_QUOTA_SESSIONS_PER_USER": "100",
            "SURICATE_QUOTA_KERNELS_PER_TENANT": "100",
            "SURICATE_QUOTA_RUNS_PER_TENANT": "100",
        }
        site = Site(tmp_path, env)
        try:
            yield site
        finally:
            for i in range(2):
                site.stop(i)


def minute(stamp: str) -> str:
    return datetime.fromisoformat(stamp).strftime("%H:%M")


@pytest.mark.timeout(600)
def test_a_rolling_restart_under_load_loses_nothing(site: Site, tmp_path: Path) -> None:
    site.start(0)
    site.start(1)
    env = clean_env(tmp_path / "data0") | site.env
    suricate(env, "user", "create", "alice", "--tenant", "acme")
    token = suricate(env, "token", "create", "alice")
    upstreams = [f"127.0.0.1:{p}" for p in site.ports]
    with nginx(tmp_path / "nginx", free_port(), upstreams) as url:
        nodes = [start_node(env, url, tmp_path / f"node{i}.log") for i in range(2)]
        try:
            run_load(site, url, token, tmp_path)
        finally:
            for node in nodes:
                node.send_signal(signal.SIGTERM)
                node.wait(timeout=30)


def run_load(site: Site, url: str, token: str, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=120) as api:
        load(site, url, token, tmp_path, api)


def load(site: Site, url: str, token: str, tmp_path: Path, api: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    api.put("/objects/shared.csv", content=b"a,b\n1,2\n" * 1000).raise_for_status()
    nb = {"name": "quick", "notebook": notebook("print('ran')")}
    nb_id = api.post("/notebooks", json=nb).raise_for_status().json()["id"]
    tick = {"name": "tick", "notebook": notebook("print('tick')")}
    tick_id = api.post("/notebooks", json=tick).raise_for_status().json()["id"]
    api.post(f"/notebooks/{tick_id}/schedules", json={"cron": "* * * * *"}).raise_for_status()
    sessions = [
        api.post("/sessions", json={}).raise_for_status().json()["id"] for _ in range(SESSIONS)
    ]
    kinds = ["execute"] * 12 + ["read"] * 20 + ["upload"] * 10 + ["run"] * 3 + ["watch"] * 5
    users = [User(kind) for kind in kinds[:USERS]]
    stop = threading.Event()
    failed_at: list[float] = []
    started = time.monotonic()
    restarted = threading.Event()  # set once the last restart is done

    def call(user: User, client: httpx.Client, method: str, path: str, **kw: Any) -> Any:
        user.requests += 1
        try:
            r = client.request(method, path, **kw)
        except httpx.TransportError as exc:
            user.failures.append(f"{method} {path}: {type(exc).__name__}")
            failed_at.append(time.monotonic() - started)
            time.sleep(0.5)  # as a client would before trying again
            return None
        if r.status_code >= 400:
            user.failures.append(f"{method} {path}: {r.status_code} {r.text[:60]}")
            failed_at.append(time.monotonic() - started)
            time.sleep(0.5)
            return None
        return r.json() if r.headers.get("content-type") == "application/json" else {"ok": 1}

    def act(n: int, user: User) -> None:
        client = httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=120)
        session = sessions[n % SESSIONS]
        var = f"c{n}"
        while not stop.is_set():
            if user.kind == "execute":
                code = f"{var} = globals().get('{var}', 0) + 1"
                if call(user, client, "POST", f"/sessions/{session}/execute", json={"code": code}):
                    user.executes += 1
            elif user.kind == "read":
                call(user, client, "GET", "/objects")
                call(user, client, "GET", "/objects/shared.csv/content")
                call(user, client, "GET", "/runs", params={"limit": 20})
            elif user.kind == "upload":
                name = f"u{n}-{user.requests}.csv"
                if call(user, client, "PUT", f"/objects/{name}", content=b"x,y\n3,4\n"):
                    call(user, client, "GET", f"/objects/{name}")
                time.sleep(0.2)
            elif user.kind == "run":  # one run at a time, the next once it has ended
                made = call(user, client, "POST", f"/notebooks/{nb_id}/runs")
                if made:
                    user.runs.append(made["id"])
                    while not stop.is_set():
                        seen = call(user, client, "GET", f"/runs/{made['id']}")
                        if seen and seen["status"] not in ("queued", "running"):
                            break
                        time.sleep(1.0)
                else:
                    time.sleep(1.0)
            else:
                watch(n, user, session)
        client.close()

    def watch(n: int, user: User, session: str) -> None:
        ws = f"{url.replace('http', 'ws', 1)}/api/v1/sessions/{session}/ws?token={token}"
        user.requests += 1
        try:
            with connect(ws, open_timeout=30) as page:
                while not stop.is_set():
                    try:
                        json.loads(page.recv(timeout=1))
                    except TimeoutError:
                        continue
                    if restarted.is_set():
                        user.events_after_restart += 1
        except Exception as exc:  # the frontend it was on went away: connect again
            if not stop.is_set():
                user.failures.append(f"WS: {type(exc).__name__}")
                time.sleep(0.5)

    threads = [threading.Thread(target=act, args=(n, u), daemon=True) for n, u in enumerate(users)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS * 0.2)
    site.kill(0)  # kill -9 mid-load
    killed = time.monotonic() - started
    site.start(0)  # the deployment brings it back
    # A rolling restart stops the next replica once the proxy sees the last one again (nginx
    # skips a refusing frontend for fail_timeout, 2 s; Kubernetes waits minReadySeconds).
    time.sleep(3.0)
    site.stop(1)
    site.start(1)
    restarted.set()
    rolled = time.monotonic() - started
    time.sleep(max(10.0, LOAD_SECONDS - rolled))
    stop.set()
    for thread in threads:
        thread.join(timeout=150)
    elapsed = time.monotonic() - started

    # Every run finished, none lost, each once.
    run_ids = [r for u in users for r in u.runs]
    finished = wait_until(
        lambda: [api.get(f"/runs/{r}").json() for r in run_ids],
        until=lambda runs: all(r["status"] not in ("queued", "running") for r in runs),
        timeout=180,
        interval=1.0,
        message="runs left unfinished",
    )
    statuses = Counter(r["status"] for r in finished)
    attempts = Counter(r["attempt"] for r in finished)
    # Each execute answered ok was applied once (a failed one may or may not have run).
    applied = {}
    for n, user in enumerate(users):
        if user.kind != "execute":
            continue
        reply = (
            api.post(
                f"/sessions/{sessions[n % SESSIONS]}/execute",
                json={"code": f"print(globals().get('c{n}', 0))"},
            )
            .raise_for_status()
            .json()
        )
        applied[n] = int(reply["outputs"][0]["text"])
    ticks = api.get("/runs", params={"notebook_id": tick_id}).json()["items"]
    tick_minutes = [minute(r["created_at"]) for r in ticks]
    failures = Counter(len(u.failures) for u in users)
    requests = sum(u.requests for u in users)
    watchers = [u for u in users if u.kind == "watch"]
    print(
        f"\n[rolling] {USERS} users, {requests} requests in {elapsed:.0f} s "
        f"({requests / elapsed:.0f}/s); frontend 0 killed at {killed:.1f} s, both restarted by "
        f"{rolled:.1f} s; failed requests per user {dict(sorted(failures.items()))}; "
        f"runs {dict(statuses)} by attempt {dict(attempts)}; executes ok "
        f"{sum(u.executes for u in users)}; schedule runs by minute {tick_minutes}; events heard "
        f"after the restarts by each watcher {[u.events_after_restart for u in watchers]}"
    )
    print(f"  failures by second: {dict(sorted(Counter(int(t) for t in failed_at).items()))}")
    for user in users:
        if user.failures:
            print(f"  {user.kind}: {user.failures[:4]}")
    log = tmp_path / "nginx" / "error.log"
    tail = log.read_text().splitlines(keepends=True)[-15:] if log.exists() else []
    print("  nginx:", "".join(tail))
    assert statuses == {"succeeded": len(run_ids)}, statuses
    for n, count in applied.items():
        user = users[n]
        assert user.executes <= count <= user.executes + len(user.failures), (n, count, user)
    assert len(tick_minutes) == len(set(tick_minutes)), "a due time fired twice"
    # Two disruptions (a kill, a restart): at most one failed request each.
    assert all(len(u.failures) <= 2 for u in users), [u.failures for u in users if u.failures]
    assert all(u.events_after_restart > 0 for u in watchers), "a live page never heard again"
    for session in sessions:  # every session still usable
        reply = api.post(f"/sessions/{session}/execute", json={"code": "1 + 1"})
        assert reply.status_code == 200 and reply.json()["status"] == "ok", reply.text
