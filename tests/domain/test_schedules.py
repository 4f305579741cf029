"""Schedules: runs on a cron, skips while the last run still runs, tenant-scoped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from suricate.server.platform import Platform
from suricate.store.tables import Schedule, utcnow
from tests.domain.test_runs import create, notebook
from tests.support.api import finished_run
from tests.support.wait import wait_until

pytestmark = [
    pytest.mark.sqlite_only("kernels do the work here: one database keeps these tests quick"),
    pytest.mark.settings(kernel_pool_size=1),
]


def make_due(platform: Platform, schedule_id: str) -> None:
    with platform.db.session() as s:
        s.execute(
            update(Schedule)
            .where(Schedule.id == schedule_id)
            .values(next_at=utcnow() - timedelta(seconds=1))
        )


def tick(client: TestClient, platform: Platform) -> None:
    client.portal.call(platform.schedules.tick)  # type: ignore[union-attr]


def test_a_due_schedule_starts_a_run_with_its_parameters(
    alice: TestClient, platform: Platform
) -> None:
    nb_id = create(alice, notebook("print(n)", parameters="n = 1"))
    r = alice.post(
        f"/api/v1/notebooks/{nb_id}/schedules",
        json={"cron": "*/5 * * * *", "parameters": {"n": 7}, "timezone": "Europe/Paris"},
    )
    assert r.status_code == 201, r.text
    schedule = r.json()
    assert schedule["next_at"] > schedule["created_at"]
    make_due(platform, schedule["id"])
    tick(alice, platform)
    after = alice.get(f"/api/v1/schedules/{schedule['id']}").json()
    assert after["runs_started"] == 1
    assert after["next_at"] > schedule["created_at"]
    run = finished_run(alice, after["last_run_id"])
    assert run["status"] == "succeeded"
    assert run["parameters"] == {"n": 7}
    listed = alice.get(f"/api/v1/notebooks/{nb_id}/schedules").json()["items"]
    assert [s["id"] for s in listed] == [schedule["id"]]
    name = alice.get(f"/api/v1/notebooks/{nb_id}").json()["name"]
    by_name = alice.get(f"/api/v1/notebooks/{name}/schedules").json()["items"]
    assert [s["id"] for s in by_name] == [schedule["id"]]
    everything = alice.get("/api/v1/schedules").json()["items"]
    assert [s["id"] for s in everything] == [schedule["id"]]
    runs = alice.get("/api/v1/runs", params={"notebook_id": name}).json()["items"]
    assert [r["id"] for r in runs] == [run["id"]]
    assert alice.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 204
    assert alice.get(f"/api/v1/schedules/{schedule['id']}").status_code == 404


def test_a_due_time_is_skipped_and_recorded_while_the_last_run_goes_on(
    alice: TestClient, platform: Platform
) -> None:
    nb_id = create(alice, notebook("import time\ntime.sleep(30)"))
    schedule = alice.post(f"/api/v1/notebooks/{nb_id}/schedules", json={"cron": "* * * * *"}).json()
    make_due(platform, schedule["id"])
    tick(alice, platform)
    make_due(platform, schedule["id"])
    tick(alice, platform)
    after = alice.get(f"/api/v1/schedules/{schedule['id']}").json()
    assert after["runs_started"] == 1
    assert after["runs_skipped"] == 1
    assert after["last_skipped_at"] is not None
    alice.post(f"/api/v1/runs/{after['last_run_id']}/cancel")


def test_bad_cron_or_timezone_is_422(alice: TestClient) -> None:
    nb_id = create(alice, notebook("1"))
    r = alice.post(f"/api/v1/notebooks/{nb_id}/schedules", json={"cron": "every minute"})
    assert r.status_code == 422
    assert "cron" in r.json()["error"]["message"]
    r = alice.post(
        f"/api/v1/notebooks/{nb_id}/schedules", json={"cron": "* * * * *", "timezone": "Mars/Base"}
    )
    assert r.status_code == 422
    assert "timezone" in r.json()["error"]["message"]


def test_other_tenant_gets_404_on_schedules(alice: TestClient, bob: TestClient) -> None:
    nb_id = create(alice, notebook("1"))
    schedule = alice.post(f"/api/v1/notebooks/{nb_id}/schedules", json={"cron": "0 6 * * *"}).json()
    assert (
        bob.post(f"/api/v1/notebooks/{nb_id}/schedules", json={"cron": "* * * * *"}).status_code
        == 404
    )
    assert bob.get(f"/api/v1/notebooks/{nb_id}/schedules").status_code == 404
    assert bob.get(f"/api/v1/schedules/{schedule['id']}").status_code == 404
    assert bob.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 404
    assert bob.get("/api/v1/schedules").json()["items"] == []
    assert alice.get(f"/api/v1/schedules/{schedule['id']}").status_code == 200


def test_the_scheduler_loop_runs_every_minute_schedules(
    alice: TestClient, platform: Platform
) -> None:
    nb_id = create(alice, notebook("1"))
    schedule = alice.post(f"/api/v1/notebooks/{nb_id}/schedules", json={"cron": "* * * * *"}).json()
    make_due(platform, schedule["id"])
    wait_until(  # the loop ticks every second
        lambda: alice.get(f"/api/v1/schedules/{schedule['id']}").json()["runs_started"],
        timeout=10,
        message="the scheduler loop started no run",
    )
    assert alice.get(f"/api/v1/schedules/{schedule['id']}").json()["runs_started"] == 1


def test_a_schedule_on_data_fires_on_new_rows_and_on_an_alias_move(
    alice: TestClient, platform: Platform
) -> None:
    nb_id = create(alice, notebook("print(trigger)", parameters="trigger = {}"))
    base = f"/api/v1/notebooks/{nb_id}/schedules"
    rows = alice.post(base, json={"trigger": {"object": "plays.jsonl", "rows": 3}})
    assert rows.status_code == 201, rows.text
    assert rows.json()["trigger"] == {"object": "plays.jsonl", "rows": 3}
    versions = alice.post(base, json={"trigger": {"object": "plays.jsonl"}}).json()
    moved = alice.post(base, json={"trigger": {"model": "advice", "alias": "champion"}}).json()

    def last_run(schedule: dict) -> str:
        return str(alice.get(f"/api/v1/schedules/{schedule['id']}").json()["last_run_id"])

    def runs_of(schedule: dict) -> int:
        return int(alice.get(f"/api/v1/schedules/{schedule['id']}").json()["runs_started"])

    tick(alice, platform)
    assert [runs_of(s) for s in (rows.json(), versions, moved)] == [0, 0, 0]

    def add(*ids: int) -> None:
        body = {"records": [{"id": i} for i in ids], "key": "id"}
        alice.post("/api/v1/objects/plays.jsonl/rows", json=body)
        assert alice.post("/api/v1/objects/plays.jsonl/rows/flush").status_code == 200

    add(1, 2)  # version 1: two rows, not yet three
    tick(alice, platform)
    assert [runs_of(s) for s in (rows.json(), versions)] == [0, 1]
    first = finished_run(
        alice, alice.get(f"/api/v1/schedules/{versions['id']}").json()["last_run_id"]
    )
    assert first["parameters"]["trigger"] == {
        "kind": "object",
        "object": "plays.jsonl",
        "version": 1,
    }
    add(3)  # version 2: three rows since the schedule was made
    tick(alice, platform)
    fired = alice.get(f"/api/v1/schedules/{rows.json()['id']}").json()
    assert fired["runs_started"] == 1
    run = finished_run(alice, fired["last_run_id"])
    assert run["parameters"]["trigger"] == {
        "kind": "object",
        "object": "plays.jsonl",
        "version": 2,
        "rows": 3,
        "new_rows": 3,
    }
    add(4)
    tick(alice, platform)
    assert runs_of(rows.json()) == 1  # one new row since it fired: not yet

    for v in (1, 2):
        alice.post(
            "/api/v1/models/advice/versions",
            data={"flavor": "json"},
            files={"artifact": ("a.json", b'{"v": %d}' % v)},
        )
    alice.put("/api/v1/models/advice/aliases/champion", json={"version": 1})  # set: a move
    tick(alice, platform)
    assert runs_of(moved) == 1
    run = finished_run(alice, last_run(moved))
    assert run["parameters"]["trigger"] == {
        "kind": "model",
        "model": "advice",
        "alias": "champion",
        "version": 1,
        "previous": None,
    }
    alice.put("/api/v1/models/advice/aliases/champion", json={"version": 2})
    tick(alice, platform)
    assert runs_of(moved) == 2
    run = finished_run(alice, last_run(moved))
    assert (run["parameters"]["trigger"]["previous"], run["parameters"]["trigger"]["version"]) == (
        1,
        2,
    )


def test_a_trigger_is_checked(alice: TestClient) -> None:
    nb_id = create(alice, notebook("1"))
    base = f"/api/v1/notebooks/{nb_id}/schedules"
    for body in [
        {},
        {"cron": "* * * * *", "trigger": {"object": "a.csv"}},
        {"trigger": {"object": "a.csv", "rows": 0}},
        {"trigger": {"model": "m"}},
        {"trigger": {"model": "m", "alias": "Bad Alias"}},
        {"trigger": {"object": "a.csv", "model": "m", "alias": "x"}},
        {"trigger": {"table": "x"}},
    ]:
        r = alice.post(base, json=body)
        assert r.status_code == 422, (body, r.text)
