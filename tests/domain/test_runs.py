"""Runs of notebooks with parameters, in fresh kernels, with a full record."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from fastapi.testclient import TestClient

from tests.support.api import finished_run
from tests.support.wait import wait_until

pytestmark = [
    pytest.mark.sqlite_only("kernels do the work here: one database keeps these tests quick"),
    pytest.mark.settings(kernel_pool_size=1),
]


def notebook(*cells: str, parameters: str | None = None) -> dict:
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(c) for c in cells)
    return nbformat.from_dict(nb)


def create(client: TestClient, nb: dict, name: str = "job") -> str:
    r = client.post("/api/v1/notebooks", json={"name": name, "notebook": nb})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_run_injects_parameters_and_records_every_output(alice: TestClient) -> None:
    nb_id = create(alice, notebook("print(n * 2)", "n + 1", parameters="n = 1"))
    r = alice.post(f"/api/v1/notebooks/{nb_id}/runs", json={"parameters": {"n": 21}})
    assert r.status_code == 202
    assert r.json()["status"] == "queued"
    run = finished_run(alice, r.json()["id"])
    assert run["status"] == "succeeded", run
    assert run["parameters"] == {"n": 21}
    assert run["notebook_revision"] == 1
    assert run["cells_done"] == run["cells_total"] == 4
    assert run["duration_s"] > 0
    executed = nbformat.reads(alice.get(f"/api/v1/runs/{run['id']}/notebook").text, 4)
    nbformat.validate(executed)
    injected = executed.cells[1]
    assert injected.metadata.tags == ["injected-parameters"]
    assert "n = 21" in injected.source
    assert executed.cells[2].outputs[0].text == "42\n"
    assert executed.cells[3].outputs[0].data["text/plain"] == "22"


def test_a_failing_cell_fails_the_run_naming_the_cell(alice: TestClient) -> None:
    nb_id = create(alice, notebook("x = 1", "1 / 0", "print('never')"))
    run = finished_run(alice, alice.post(f"/api/v1/notebooks/{nb_id}/runs").json()["id"])
    assert run["status"] == "failed"
    assert run["error"] == {"ename": "ZeroDivisionError", "evalue": "division by zero", "cell": 1}
    executed = alice.get(f"/api/v1/runs/{run['id']}/notebook").json()
    assert executed["cells"][1]["outputs"][0]["output_type"] == "error"
    assert executed["cells"][2]["outputs"] == []


def test_a_run_past_its_timeout_is_timed_out(alice: TestClient) -> None:
    nb_id = create(alice, notebook("import time\ntime.sleep(60)"))
    r = alice.post(f"/api/v1/notebooks/{nb_id}/runs", json={"timeout_s": 1})
    run = finished_run(alice, r.json()["id"])
    assert run["status"] == "timed_out"
    assert run["error"]["cell"] == 0


def test_cancel_stops_a_running_run_and_keeps_what_it_printed(alice: TestClient) -> None:
    code = "import time\nprint('warming up', flush=True)\ntime.sleep(60)"
    nb_id = create(alice, notebook(code))
    run_id = alice.post(f"/api/v1/notebooks/{nb_id}/runs").json()["id"]

    def printed() -> str:
        executed = alice.get(f"/api/v1/runs/{run_id}/notebook").json()
        cells = [c for c in executed.get("cells", []) if c["cell_type"] == "code"]
        return "".join(o.get("text", "") for c in cells[:1] for o in c.get("outputs", []))

    # The running cell's output shows while it runs, not only once it is done.
    wait_until(lambda: "warming up" in printed(), timeout=15, message="nothing printed yet")
    assert printed() == "warming up\n"
    r = alice.post(f"/api/v1/runs/{run_id}/cancel")
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert printed() == "warming up\n"


def test_history_is_newest_first_and_paged(alice: TestClient) -> None:
    nb_id = create(alice, notebook("1"))
    ids = [alice.post(f"/api/v1/notebooks/{nb_id}/runs").json()["id"] for _ in range(3)]
    for run_id in ids:
        finished_run(alice, run_id)
    page = alice.get("/api/v1/runs", params={"notebook_id": nb_id, "limit": 2}).json()
    rest = alice.get("/api/v1/runs", params={"notebook_id": nb_id, "cursor": page["next"]}).json()
    assert [r["id"] for r in page["items"] + rest["items"]] == ids[::-1]
    assert rest["next"] is None


def test_other_tenant_gets_404_on_every_run_route(alice: TestClient, bob: TestClient) -> None:
    nb_id = create(alice, notebook("1"))
    run_id = alice.post(f"/api/v1/notebooks/{nb_id}/runs").json()["id"]
    assert bob.post(f"/api/v1/notebooks/{nb_id}/runs").status_code == 404
    for method, path in [
        ("GET", f"/api/v1/runs/{run_id}"),
        ("GET", f"/api/v1/runs/{run_id}/notebook"),
        ("POST", f"/api/v1/runs/{run_id}/cancel"),
    ]:
        r = bob.request(method, path)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["code"] == "run_not_found"
    assert bob.get("/api/v1/runs").json()["items"] == []
    finished_run(alice, run_id)


def test_a_finished_run_is_posted_to_its_webhook_signed(alice: TestClient, platform) -> None:
    import hashlib
    import hmac
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[tuple[dict, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        nb_id = create(alice, notebook("1"))
        r = alice.post(f"/api/v1/notebooks/{nb_id}/runs", json={"webhook_url": url})
        finished_run(alice, r.json()["id"])
        wait_until(lambda: received, timeout=5, interval=0.05, message="no webhook call came")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    headers, body = received[0]
    secret = (platform.settings.data_dir / "webhook-secret").read_bytes().strip()
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert headers["X-Suricate-Signature"] == expected
    payload = json.loads(body)
    assert payload["event"] == "run.finished"
    assert payload["run"]["status"] == "succeeded"
    bad = alice.post(f"/api/v1/notebooks/{nb_id}/runs", json={"webhook_url": "ftp://x"})
    assert bad.status_code == 422


def test_a_run_keeps_the_outputs_nbclient_keeps(alice: TestClient) -> None:
    import nbclient

    golden = Path(__file__).parents[1] / "files" / "notebooks" / "outputs.ipynb"
    expected = nbformat.read(golden, 4)
    nbclient.NotebookClient(expected, timeout=60).execute()
    nb_id = create(alice, nbformat.read(golden, 4), name="outputs")
    run = finished_run(alice, alice.post(f"/api/v1/notebooks/{nb_id}/runs").json()["id"])
    assert run["status"] == "succeeded", run
    executed = nbformat.reads(alice.get(f"/api/v1/runs/{run['id']}/notebook").text, 4)
    nbformat.validate(executed)
    assert [c.outputs for c in executed.cells] == [c.outputs for c in expected.cells]
