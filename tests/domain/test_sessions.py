"""Interactive sessions on real, sandboxed ipykernels: outputs, plots, SDK, limits, isolation."""

from __future__ import annotations

import base64
import re
import threading

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from suricate.domain.sessions import SessionService
from suricate.node.sandbox import bwrap_path
from suricate.server.platform import Platform
from tests.support import PASSWORD
from tests.support.wait import wait_until

CSV = "x,y\n" + "".join(f"{i},{(i * 7) % 10}\n" for i in range(40))
needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed")


pytestmark = [
    pytest.mark.sqlite_only("kernels do not touch the database; SQLite alone keeps these quick"),
    pytest.mark.settings(kernel_pool_size=0),
]


def start(client: TestClient) -> str:
    r = client.post("/api/v1/sessions")
    assert r.status_code == 201, r.text
    return r.json()["id"]


def run(client: TestClient, session: str, code: str, **extra) -> dict:
    r = client.post(f"/api/v1/sessions/{session}/execute", json={"code": code, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def test_execute_returns_nbformat_outputs_and_inline_png(alice: TestClient) -> None:
    s = start(alice)
    result = run(alice, s, "print('hello')\n21 * 2")
    assert result["status"] == "ok"
    assert result["outputs"][0] == {"output_type": "stream", "name": "stdout", "text": "hello\n"}
    assert result["outputs"][1]["data"]["text/plain"] == "42"
    plot = run(alice, s, "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()")
    png = plot["outputs"][0]["data"]["image/png"]
    assert base64.b64decode(png).startswith(b"\x89PNG")
    error = run(alice, s, "1/0")
    assert error["status"] == "error"
    assert error["ename"] == "ZeroDivisionError"
    assert error["outputs"][0]["output_type"] == "error"


def test_sdk_reads_a_csv_fits_kmeans_and_saves_it(alice: TestClient) -> None:
    alice.put("/api/v1/objects/points.csv", content=CSV.encode())
    s = start(alice)
    code = (
        "from suricate import sdk\n"
        "from sklearn.cluster import KMeans\n"
        "df = sdk.read_csv('points.csv')\n"
        "model = KMeans(n_clusters=3, n_init=2, random_state=0).fit(df)\n"
        "sdk.save('kmeans', model)\n"
        "sdk.save('summary.json', {'rows': len(df), 'centers': model.cluster_centers_})\n"
        "again = sdk.load('kmeans')\n"
        "print(len(df), sorted(o['name'] for o in sdk.list_objects()),"
        " (again.predict(df) == model.predict(df)).all())"
    )
    result = run(alice, s, code)
    assert result["status"] == "ok", result
    text = result["outputs"][-1]["text"]
    assert text.strip() == "40 ['kmeans', 'points.csv', 'summary.json'] True"
    model = alice.get("/api/v1/objects/kmeans").json()
    assert model["content_type"] == "application/vnd.suricate.joblib"
    summary = alice.get("/api/v1/objects/summary.json/content").json()
    assert summary["rows"] == 40
    assert len(summary["centers"]) == 3


def test_an_sdk_error_shows_the_users_line_not_the_sdks_frames(alice: TestClient) -> None:
    s = start(alice)
    result = run(alice, s, "from suricate import sdk\nx = 1\nsdk.read_csv('no-such.csv')")
    assert result["status"] == "error" and result["ename"] == "ApiError"
    assert "no-such.csv" in result["evalue"]
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(result["traceback"]))
    assert "sdk.read_csv('no-such.csv')" in shown
    assert "client.py" not in shown and "httpx" not in shown


@needs_bwrap
def test_kernel_cannot_read_the_data_dir_or_the_database(
    alice: TestClient, platform: Platform
) -> None:
    s = start(alice)
    db_file = platform.settings.resolved_database_url.removeprefix("sqlite:///")
    for path in [db_file, str(platform.settings.data_dir), str(platform.store.blobs)]:
        result = run(
            alice,
            s,
            f"import os\nos.listdir({path!r}) if os.path.isdir({path!r}) "
            f"else open({path!r}, 'rb').read(1)",
        )
        assert result["status"] == "error", (path, result)
        assert result["ename"] in {"FileNotFoundError", "PermissionError"}
    net = run(alice, s, "import socket\nsocket.create_connection(('127.0.0.1', 5432), 2)")
    assert net["status"] == "error"


def test_sdk_token_acts_in_the_session_tenant_only(alice: TestClient, platform: Platform) -> None:
    from suricate.domain.tenants import Role

    platform.tenants.create_tenant("other")
    platform.tenants.add_member("other", "alice", Role.OWNER)
    s = start(alice)
    user_token = alice.headers["Authorization"].split()[1]
    result = run(alice, s, "import os\nprint(os.environ['SURICATE_TOKEN'])")
    kernel_token = result["outputs"][0]["text"].strip()
    assert kernel_token != user_token
    assert platform.tokens.authenticate(kernel_token).tenant_name == "acme"
    from suricate.errors import TenantNotFound, Unauthenticated

    with pytest.raises(TenantNotFound):
        platform.tokens.authenticate(kernel_token, "other")
    assert alice.delete(f"/api/v1/sessions/{s}").status_code == 204
    with pytest.raises(Unauthenticated):
        platform.tokens.authenticate(kernel_token)


def test_memory_past_the_limit_is_an_error_and_the_kernel_lives_on(alice: TestClient) -> None:
    s = start(alice)
    result = run(alice, s, "import numpy as np\nbig = np.ones(4 * 1024**3 // 8)")
    assert result["status"] == "error"
    assert result["ename"] == "MemoryError"
    assert run(alice, s, "1 + 1")["outputs"][0]["data"]["text/plain"] == "2"


def test_a_killed_kernel_is_reported_and_replaced(alice: TestClient) -> None:
    s = start(alice)
    run(alice, s, "x = 1")
    died = run(alice, s, "import os\nos._exit(3)")
    assert died["status"] == "error"
    assert died["ename"] == "KernelDied"
    assert "exit code 3" in died["evalue"]
    after = run(alice, s, "'x' in globals()")
    assert after["status"] == "ok"
    assert after["outputs"][0]["data"]["text/plain"] == "False"


def test_a_cell_past_its_timeout_is_interrupted(alice: TestClient) -> None:
    s = start(alice)
    result = run(alice, s, "import time\ntime.sleep(60)", timeout=1)
    assert result["status"] == "error"
    assert result["ename"] == "TimeoutError"
    assert run(alice, s, "'still here'")["status"] == "ok"


def test_interrupt_stops_a_running_cell(alice: TestClient) -> None:
    s = start(alice)
    results: list[dict] = []
    worker = threading.Thread(
        target=lambda: results.append(run(alice, s, "import time\ntime.sleep(60)"))
    )
    worker.start()
    wait_until(
        lambda: alice.get(f"/api/v1/sessions/{s}").json()["execution_state"] == "busy",
        timeout=10,
        interval=0.05,
        message="the cell never ran",
    )
    threading.Event().wait(0.3)
    assert alice.post(f"/api/v1/sessions/{s}/interrupt").status_code == 204
    worker.join(30)
    assert results and results[0]["ename"] == "KeyboardInterrupt"


def test_restart_gives_a_fresh_kernel(alice: TestClient) -> None:
    s = start(alice)
    run(alice, s, "x = 1")
    assert alice.post(f"/api/v1/sessions/{s}/restart").status_code == 204
    assert run(alice, s, "'x' in globals()")["outputs"][0]["data"]["text/plain"] == "False"


def test_websocket_streams_outputs_as_they_come(alice: TestClient) -> None:
    s = start(alice)
    token = alice.headers["Authorization"].split()[1]
    with alice.websocket_connect(f"/api/v1/sessions/{s}/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "status"
        ws.send_json({"type": "execute", "code": "for i in range(3):\n    print(i, flush=True)"})
        events = []
        while not events or events[-1].get("type") != "result":
            events.append(ws.receive_json())
    outputs = [e["output"]["text"] for e in events if e["type"] == "output"]
    assert "".join(outputs) == "0\n1\n2\n"
    assert events[0] == {"type": "status", "execution_state": "busy", "cell": None}
    assert events[-1]["status"] == "ok"


@pytest.mark.settings(kernel_pool_size=0, kernel_detached_grace=1.0)
def test_a_kernel_whose_page_closed_is_culled_after_the_grace_time(alice: TestClient) -> None:
    shown, api_only = start(alice), start(alice)
    token = alice.headers["Authorization"].split()[1]
    with alice.websocket_connect(f"/api/v1/sessions/{shown}/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "status"
        listed = {s["id"]: s for s in alice.get("/api/v1/sessions").json()["items"]}
        assert listed[shown]["viewers"] == 1 and listed[api_only]["viewers"] == 0
        assert listed[shown]["idle_s"] >= 0
    wait_until(
        lambda: alice.get(f"/api/v1/sessions/{shown}").status_code == 404,
        timeout=30,
        message=lambda: (
            f"the session of a closed page lived on: {alice.get(f'/api/v1/sessions/{shown}').text}"
        ),
    )
    assert alice.get(f"/api/v1/sessions/{api_only}").status_code == 200


def test_websocket_takes_a_same_origin_browser_session_and_tags_cells(
    alice: TestClient, app_client: TestClient
) -> None:
    s = start(alice)
    login = app_client.post("/api/v1/auth/login", json={"user": "alice", "password": PASSWORD})
    assert login.status_code == 200
    app_client.cookies.set("suricate_session", login.cookies["suricate_session"])
    # From another site's page the cookie is not enough: cross-site WebSocket hijacking.
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        app_client.websocket_connect(
            f"/api/v1/sessions/{s}/ws", headers={"Origin": "https://evil.example"}
        ) as ws,
    ):
        ws.receive_json()
    assert refused.value.code == 4403
    origin = {"Origin": "http://testserver"}
    with app_client.websocket_connect(f"/api/v1/sessions/{s}/ws", headers=origin) as ws:
        assert ws.receive_json()["type"] == "status"
        ws.send_json({"type": "execute", "code": "print('hi')", "cell": "c1"})
        events = []
        while not events or events[-1].get("type") != "result":
            events.append(ws.receive_json())
    assert {e["cell"] for e in events} == {"c1"}
    assert [e["output"]["text"] for e in events if e["type"] == "output"] == ["hi\n"]


def test_other_tenant_gets_404_on_every_session_route(alice: TestClient, bob: TestClient) -> None:
    s = start(alice)
    for method, path in [
        ("GET", f"/api/v1/sessions/{s}"),
        ("POST", f"/api/v1/sessions/{s}/execute"),
        ("POST", f"/api/v1/sessions/{s}/interrupt"),
        ("POST", f"/api/v1/sessions/{s}/restart"),
        ("DELETE", f"/api/v1/sessions/{s}"),
    ]:
        r = bob.request(method, path, json={"code": "1"} if path.endswith("execute") else None)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["code"] == "session_not_found"
    assert bob.get("/api/v1/sessions").json()["items"] == []
    bob_token = bob.headers["Authorization"].split()[1]
    with (
        pytest.raises(WebSocketDisconnect),
        bob.websocket_connect(f"/api/v1/sessions/{s}/ws?token={bob_token}") as ws,
    ):
        ws.receive_json()
    r = bob.post("/api/v1/sessions", json={"notebook_id": "not-bobs"})
    assert r.status_code == 404
    assert run(alice, s, "1")["status"] == "ok"


def test_a_teammate_does_not_see_or_use_my_session(alice: TestClient, make_user) -> None:
    s = start(alice)
    carol = make_user("carol", "acme")  # same tenant, another user
    assert alice.get("/api/v1/sessions").json()["items"][0]["user"] == "alice"
    assert carol.get("/api/v1/sessions").json()["items"] == []
    r = carol.post(f"/api/v1/sessions/{s}/execute", json={"code": "1"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "session_not_found"


def test_a_session_stopped_through_another_frontend_is_gone_here_at_once(
    alice: TestClient, platform: Platform
) -> None:
    """A cell trusts its session's row as read moments ago: its node says the kernel is gone."""
    s = start(alice)
    run(alice, s, "1")  # its row read just now
    other = SessionService(
        platform.sessions.bus, platform.tokens, platform.notebooks, 60, db=platform.db
    )
    principal = platform.tokens.authenticate(alice.headers["Authorization"].split()[1], None)
    alice.portal.call(other.delete, principal, s)  # type: ignore[union-attr]
    alice.portal.call(other.close)  # type: ignore[union-attr]
    r = alice.post(f"/api/v1/sessions/{s}/execute", json={"code": "1"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "session_not_found"
    assert alice.get("/api/v1/sessions").json()["items"] == []


@pytest.mark.settings(kernel_pool_size=1, kernel_fork=False, kernel_idle_timeout=1.5)
class TestPoolAndCulling:
    """With a warm pool (forking off) and a short idle timeout."""

    def test_a_warm_kernel_has_the_usual_imports_loaded(
        self, alice: TestClient, platform: Platform
    ) -> None:
        first = start(alice)
        run(alice, first, "1")
        wait_until(  # the pool refills in the background after the first start
            lambda: platform.node.pool._warm.get("acme"),
            timeout=20,
            interval=0.05,
            message="the pool never refilled",
        )
        second = start(alice)
        result = run(alice, second, "import sys\n'pandas' in sys.modules")
        assert result["outputs"][0]["data"]["text/plain"] == "True"

    def test_an_idle_session_is_culled(self, alice: TestClient) -> None:
        s = start(alice)
        run(alice, s, "1")
        wait_until(
            lambda: alice.get(f"/api/v1/sessions/{s}").status_code == 404,
            timeout=15,
            interval=0.05,
            message="the idle session lives on",
        )
        assert alice.get(f"/api/v1/sessions/{s}").status_code == 404


def test_the_kernels_list_tells_each_kernels_memory_and_cpu(alice: TestClient) -> None:
    import os

    from suricate.node import cgroups

    s = start(alice)
    run(alice, s, "x = bytearray(50 * 1024 * 1024)")
    item = next(i for i in alice.get("/api/v1/sessions").json()["items"] if i["id"] == s)
    if os.geteuid() != 0 or cgroups.detect().version is None:
        assert item["memory_bytes"] is None and item["cpu_percent"] is None
        return
    assert item["memory_bytes"] > 50 * 1024 * 1024  # the tree's resident memory, the 50 MiB too
    assert item["cpu_percent"] is not None and item["cpu_percent"] >= 0
    assert item["cpu_seconds"] > 0


def test_a_session_whose_rows_cannot_be_written_leaves_no_kernel(
    alice: TestClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token's row is written with the session's, after the kernel started: should that
    fail, the kernel is stopped, and nothing of the session is left."""
    from suricate.errors import UserNotFound

    def gone(*args: object, **kwargs: object) -> None:
        raise UserNotFound("alice")

    node = platform.node
    assert node is not None
    before = len(node.pool.kernels())
    monkeypatch.setattr(platform.tokens, "add", gone)
    r = alice.post("/api/v1/sessions")
    assert r.status_code == 404, r.text
    monkeypatch.undo()
    assert alice.get("/api/v1/sessions").json()["items"] == []
    wait_until(lambda: len(node.pool.kernels()) == before, timeout=30)
