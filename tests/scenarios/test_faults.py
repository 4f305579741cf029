"""The fault suite: a frontend and two execution nodes as separate processes, on real RabbitMQ
and PostgreSQL, hit where it hurts: an execution node killed (-9) during a run and during stream
processing, every broker connection closed from the broker's side, the frontend killed (-9) and
started again (the run it drove is taken over and run again).

After each: no stream message lost, no run left running, processors running again, and the
records consistent. Each test prints its figures (sent, processed, redelivered, lost, handled
twice). Where the kill lands and how many messages are sent vary: set SURICATE_FAULT_MESSAGES
and SURICATE_FAULT_SEED to re-run with other kill points (the seed in use is printed).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.scenarios.test_processors_live import SLOW_HANDLER, Api, notebook, publish
from tests.support.rabbit import Nodes
from tests.support.servers import Server, free_port, restart_server
from tests.support.services import scratch_postgres
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

MESSAGES = int(os.environ.get("SURICATE_FAULT_MESSAGES", "2000"))
SEED = int(os.environ.get("SURICATE_FAULT_SEED", str(random.randrange(1_000_000))))


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    return random.Random(f"{SEED}-{request.node.name}")


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Print figures into the test output, captured or not."""

    def say(line: str) -> None:
        with capsys.disabled():
            print(f"\n[faults seed={SEED}] {line}", flush=True)

    return say


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database of this test's own (the frontend migrates it)."""
    with scratch_postgres("suricate_fault") as url:
        yield url


class Site:
    """The running installation: frontend, nodes, and the API as its user."""

    def __init__(self, server: Server, start_node: Nodes, database: str) -> None:
        self.server = server
        self.url = server.url
        self.start_node = start_node
        self.database = database
        self.nodes = [self.node(), self.node()]
        self.http = httpx.Client(base_url=self.url, headers=server.headers(), timeout=120)
        self.api = Api(self.http)

    def node(self) -> Any:
        return self.start_node(SURICATE_NODE_HEALTH_PORT=str(free_port()))

    def kill_node(self, node_id: str) -> None:
        victim = next(n for n in self.nodes if n.node_id == node_id)
        victim.kill()  # SIGKILL: no goodbye, no last report
        victim.wait()
        self.nodes.remove(victim)
        self.nodes.append(self.node())  # the deployment brings a node back, as Kubernetes would

    def amqp_stream(self, name: str) -> str:
        queue = f"{name}-{uuid.uuid4().hex[:6]}"
        broker = self.server.env["SURICATE_BROKER_URL"]
        body = {"name": name, "type": "amqp", "uri": broker, "queue": queue}
        self.api.call("POST", "/streams", json=body)
        return queue

    def processor(self, stream: str) -> str:
        # Each message also appends its number, by key: once each in the dataset, whatever
        # was handled twice (see appended()).
        keep = f'\n    sdk.append("seen-{stream}.jsonl", {{"n": msg.body["n"]}}, key="n")\n'
        nb = self.api.notebook(f"watch-{stream}", SLOW_HANDLER.rstrip() + keep)
        body = {"notebook_id": nb, "stream": stream}
        pid = str(self.api.call("POST", "/processors", json=body)["id"])
        self.api.wait(pid, lambda p: p["status"] == "running", 120)
        return pid

    def publish(self, queue: str, numbers: range) -> None:
        bodies = [json.dumps({"n": n}).encode() for n in numbers]
        publish(self.server.env["SURICATE_BROKER_URL"], queue, bodies)

    def slow_run(self, cells: int = 6, seconds: float = 1.0) -> str:
        code = [f"import time\ntime.sleep({seconds})\nprint('cell {i}')" for i in range(cells)]
        nb = {"name": f"slow-{uuid.uuid4().hex[:6]}", "notebook": notebook(*code)}
        nb_id = self.api.call("POST", "/notebooks", json=nb)["id"]
        return str(self.api.call("POST", f"/notebooks/{nb_id}/runs")["id"])

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.api.call("GET", f"/runs/{run_id}"))

    def wait_run(self, run_id: str, check: Callable[[dict[str, Any]], bool], timeout: float) -> Any:
        return wait_until(
            lambda: self.run(run_id), until=check, timeout=timeout, message="timed out"
        )

    def session_node(self) -> str:
        """The node holding the (one) kernel session, i.e. the run's."""
        items = wait_until(
            lambda: self.api.call("GET", "/sessions")["items"],
            timeout=30,
            interval=0.05,
            message="no session appeared",
        )
        return str(items[0]["node"])

    def all_handled(
        self, pid: str, sent: int, timeout: float = 180
    ) -> tuple[dict[str, Any], Counter[int]]:
        """Wait until every message sent has its action, then until the processor's counter
        agrees with the actions recorded (both come from the same reports: they must)."""
        self.api.wait(
            pid, lambda p: len({a["data"]["n"] for a in self.api.actions(pid)}) >= sent, timeout
        )
        done, actions = wait_until(
            lambda: (self.api.processor(pid), self.api.actions(pid)),
            until=lambda seen: seen[0]["processed"] == len(seen[1]),
            timeout=30,
            interval=0.5,
            message="the processed counter never agreed with the actions recorded",
        )
        return done, Counter(a["data"]["n"] for a in actions)

    def appended(self, stream: str, sent: int) -> Counter[int]:
        """The numbers in the dataset the processor appended to, once each number sent is
        there (its rows are queued a moment after the report's actions are recorded)."""
        name = f"seen-{stream}.jsonl"

        def written() -> Counter[int]:
            self.api.call("POST", f"/objects/{name}/rows/flush")
            data = self.http.get(f"/api/v1/objects/{name}/content")
            data.raise_for_status()
            return Counter(json.loads(line)["n"] for line in data.text.splitlines() if line)

        return wait_until(
            written, until=lambda seen: len(seen) >= sent, timeout=30, message="rows missing"
        )

    def figures(self, sent: int, done: dict[str, Any], counts: Counter[int]) -> str:
        return (
            f"sent {sent}, processed {done['processed']}, redelivered {done['redelivered']}, "
            f"restarts {done['restarts']}, lost {sent - len(counts)}, "
            f"handled twice {sum(1 for c in counts.values() if c > 1)}"
        )

    def check_records(self) -> None:
        """Every record consistent, read straight from PostgreSQL."""
        engine = create_engine(self.database)
        try:
            with engine.connect() as conn:
                stuck = conn.execute(
                    text("SELECT id, status FROM runs WHERE status IN ('queued', 'running')")
                ).all()
                assert stuck == [], f"runs left unfinished: {stuck}"
                bad_runs = conn.execute(
                    text(
                        "SELECT id FROM runs WHERE finished_at IS NULL OR cells_done > cells_total"
                        " OR (started_at IS NOT NULL AND finished_at < started_at)"
                    )
                ).all()
                assert bad_runs == [], f"inconsistent runs: {bad_runs}"
                bad_processors = conn.execute(
                    text(
                        "SELECT id, status, received, processed FROM processors"
                        " WHERE processed + failed < processed OR status NOT IN"
                        " ('running', 'stopped')"
                    )
                ).all()
                assert bad_processors == [], f"processors not running: {bad_processors}"
                orphans = conn.execute(
                    text(
                        "SELECT count(*) FROM actions a LEFT JOIN processors p ON p.id ="
                        " a.processor_id WHERE a.processor_id IS NOT NULL AND p.id IS NULL"
                    )
                ).scalar()
                assert orphans == 0
                dead = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar()
                assert dead == 0, "no message here fails: none may be dead-lettered"
        finally:
            engine.dispose()

    def ready(self, timeout: float = 60) -> None:
        wait_until(
            lambda: httpx.get(f"{self.url}/api/v1/ready"),
            until=lambda answer: answer.status_code == 200,
            timeout=timeout,
            interval=0.2,
            message=lambda: httpx.get(f"{self.url}/api/v1/ready").text,
        )


@pytest.fixture
def site(cluster_with: Callable[..., tuple[Server, Nodes]], database: str) -> Iterator[Site]:
    server, start_node = cluster_with(SURICATE_DATABASE_URL=database)
    site = Site(server, start_node, database)
    yield site
    site.http.close()


def test_node_killed_during_a_run(site: Site, rng: random.Random, report: Any) -> None:
    run_id = site.slow_run(cells=6, seconds=1.0)
    kill_after = rng.randint(1, 4)
    site.wait_run(run_id, lambda r: r["cells_done"] >= kill_after, 120)
    site.kill_node(site.session_node())
    record = site.wait_run(run_id, lambda r: r["status"] not in ("queued", "running"), 240)
    report(
        f"run: node killed after cell {kill_after} of 6 -> {record['status']}, "
        f"attempt {record['attempt']}, {record['duration_s']:.1f} s"
    )
    assert record["status"] == "succeeded", record
    assert record["attempt"] == 2
    site.check_records()


def test_node_killed_during_stream_processing(site: Site, rng: random.Random, report: Any) -> None:
    queue = site.amqp_stream("plays")
    pid = site.processor("plays")
    holder = site.api.processor(pid)["nodes"][0]
    site.publish(queue, range(MESSAGES))
    kill_at = rng.randint(MESSAGES // 10, MESSAGES * 7 // 10)
    site.api.wait(pid, lambda p: p["processed"] >= kill_at, 120)
    site.kill_node(holder)
    done, counts = site.all_handled(pid, MESSAGES)
    appended = site.appended("plays", MESSAGES)
    report(
        f"stream: node killed at {kill_at} -> {site.figures(MESSAGES, done, counts)}, "
        f"rows appended {sum(appended.values())}"
    )
    assert set(counts) == set(range(MESSAGES)), "lost messages"
    # Appended by key: every number once, those handled twice included (exactly once).
    assert appended == Counter(range(MESSAGES)), "rows lost or appended twice"
    assert done["restarts"] >= 1 and holder not in done["nodes"]
    assert done["status"] == "running"
    site.check_records()


def test_broker_closes_every_connection(site: Site, rng: random.Random, report: Any) -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.skip("rabbitmqctl is not installed")
    queue = site.amqp_stream("plays")
    pid = site.processor("plays")
    run_id = site.slow_run(cells=4, seconds=1.0)
    site.publish(queue, range(MESSAGES))
    close_at = rng.randint(MESSAGES // 10, MESSAGES * 7 // 10)
    site.api.wait(pid, lambda p: p["processed"] >= close_at, 120)
    vhost = site.server.env["SURICATE_BROKER_URL"].rsplit("/", 1)[1]
    # The frontend's, the nodes' and the stream consumers' connections all go at once.
    subprocess.run(
        [ctl, "close_all_connections", "--vhost", vhost, "closed by the fault suite"],
        check=True,
        capture_output=True,
    )
    done, counts = site.all_handled(pid, MESSAGES)
    record = site.wait_run(run_id, lambda r: r["status"] not in ("queued", "running"), 240)
    site.ready()
    report(
        f"broker closed every connection at {close_at} -> {site.figures(MESSAGES, done, counts)};"
        f" the run meanwhile: {record['status']}, attempt {record['attempt']}"
        f" {record['error'] or ''}"
    )
    assert set(counts) == set(range(MESSAGES)), "lost messages"
    assert done["status"] == "running"
    assert record["status"] == "succeeded", record
    # And the installation still works end to end afterwards.
    after = site.slow_run(cells=1, seconds=0.1)
    assert (
        site.wait_run(after, lambda r: r["status"] not in ("queued", "running"), 120)["status"]
        == "succeeded"
    )
    site.check_records()


def test_frontend_killed_and_restarted(site: Site, rng: random.Random, report: Any) -> None:
    queue = site.amqp_stream("plays")
    pid = site.processor("plays")
    before = site.api.processor(pid)
    run_id = site.slow_run(cells=20, seconds=1.0)
    site.wait_run(run_id, lambda r: r["status"] == "running", 120)
    first = MESSAGES // 2
    site.publish(queue, range(first))
    kill_at = rng.randint(first // 10, first * 7 // 10)
    site.api.wait(pid, lambda p: p["processed"] >= kill_at, 120)
    site.server.process.kill()  # SIGKILL: no shutdown at all
    site.server.process.wait()
    # Meanwhile the nodes go on; their reports wait in RabbitMQ for the next frontend.
    site.publish(queue, range(first, MESSAGES))
    process, _ = restart_server(site.server, same_port=True)
    try:
        site.ready()
        done, counts = site.all_handled(pid, MESSAGES)
        # The frontend that drove the run is gone: the new one (the leader) takes it over.
        record = site.wait_run(run_id, lambda r: r["status"] not in ("queued", "running"), 180)
        report(
            f"frontend killed at {kill_at} -> {site.figures(MESSAGES, done, counts)};"
            f" the run it was driving: {record['status']} ({(record['error'] or {}).get('ename')})"
        )
        assert set(counts) == set(range(MESSAGES)), "lost messages"
        assert done["status"] == "running" and done["nodes"] == before["nodes"], "adopted"
        assert record["status"] == "succeeded" and record["attempt"] == 2, "taken over, run again"
        site.check_records()
    finally:
        process.terminate()
        process.wait(timeout=30)
