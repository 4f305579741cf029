"""The real `suricate serve` process, driven over TCP by curl-like clients and the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.servers import Server, free_port, restart_server, server_up
from tests.support.wait import wait_until


def test_cli_upload_and_download_round_trip(start_server: Callable[..., Server], tmp_path: Path):
    server = start_server()
    src = tmp_path / "plays.csv"
    with src.open("w") as f:
        f.write("game,play,down,ydstogo,yards,desc\n")
        for i in range(120_000):
            f.write(f'2013090500,{i},{i % 4 + 1},{i % 10 + 1},{i % 23 - 3},"pass to #{i}"\n')
    assert src.stat().st_size > 4_000_000

    up = server.cli("upload", str(src))
    assert up.returncode == 0, up.stderr
    assert "100%" in up.stderr  # the progress bar
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert f'"sha256": "{digest}"' in up.stdout

    again = server.cli("upload", str(src), "--name", "plays.csv", "-q")
    assert '"version": 2' in again.stdout

    out = tmp_path / "back.csv"
    down = server.cli("download", "plays.csv", "-o", str(out))
    assert down.returncode == 0, down.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest

    missing = server.cli("download", "nope.csv", "-o", str(tmp_path / "x"))
    assert missing.returncode == 1
    assert "object 'nope.csv' not found" in missing.stderr
    assert not (tmp_path / "x").exists()


def test_cli_handles_names_as_people_write_them(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = start_server()
    src = tmp_path / "Données 2013.csv"
    src.write_text("season,team\n2013,DEN\n")
    up = server.cli("upload", str(src), "-q")
    assert up.returncode == 0, up.stderr
    assert '"name": "Données 2013.csv"' in up.stdout
    down = server.cli("download", "Données 2013.csv", "-o", str(tmp_path / "back.csv"), "-q")
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back.csv").read_bytes() == src.read_bytes()
    bad = server.cli("upload", str(src), "--name", "..", "-q")
    assert bad.returncode == 1
    assert "invalid object name '..'" in bad.stderr

    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [
            {
                "cell_type": "code",
                "id": "c",
                "metadata": {},
                "execution_count": None,
                "source": "print('ran')",
                "outputs": [],
            }
        ],
    }
    imported = httpx.post(
        f"{server.url}/api/v1/notebooks/import",
        headers=server.headers(),
        files={"file": ("Clear Output.ipynb", json.dumps(notebook))},
    )
    assert imported.status_code == 201, imported.text
    out = tmp_path / "Clear Output (ran).ipynb"
    ran = server.cli("run", "Clear Output", "-o", str(out))
    assert ran.returncode == 0, ran.stderr
    assert "of Clear Output" in ran.stderr
    assert json.loads(out.read_text())["cells"][0]["outputs"][0]["text"] == "ran\n"


def test_cli_lists_shows_and_moves_model_aliases(start_server: Callable[..., Server]) -> None:
    server = start_server()
    for v in (1, 2):
        r = httpx.post(
            f"{server.url}/api/v1/models/advice/versions",
            headers=server.headers(),
            data={"flavor": "json", "meta": '{"metrics": {"brier": 0.2}}'},
            files={"artifact": ("a.json", b'{"v": %d}' % v)},
        )
        assert r.status_code == 201, r.text
    moved = server.cli("models", "alias", "advice", "champion", "2")
    assert moved.returncode == 0, moved.stderr
    assert "advice@champion -> version 2" in moved.stdout
    listed = server.cli("models", "list")
    assert "advice\tv2\tchampion=2" in listed.stdout
    shown = server.cli("models", "show", "advice")
    assert "v2 [champion] json" in shown.stdout and '{"brier": 0.2}' in shown.stdout
    back = server.cli("models", "alias", "advice", "champion", "1")
    assert "-> version 1" in back.stdout
    missing = server.cli("models", "alias", "advice", "champion", "9")
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert server.cli("models", "alias", "advice", "champion", "--delete").returncode == 0


@pytest.mark.timeout(300)
def test_cli_backtests_two_versions_and_runs_a_challenger_in_shadow(
    start_server: Callable[..., Server],
) -> None:
    """A backtest of both versions over a stored game, then the challenger in shadow, live."""
    server = start_server()
    for v in (1, 2):
        r = httpx.post(
            f"{server.url}/api/v1/models/advice/versions",
            headers=server.headers(),
            data={"flavor": "json", "meta": "{}"},
            files={"artifact": ("a.json", b'{"v": %d}' % v)},
        )
        assert r.status_code == 201, r.text
    api = httpx.Client(base_url=f"{server.url}/api/v1", headers=server.headers(), timeout=60)
    handler = (
        "from suricate import sdk\nm = sdk.load_model('advice@champion')\n"
        "def on_message(msg):\n"
        "    sdk.metric('miss', abs(m['v'] - msg.body['v']))\n"
        "    sdk.action(f\"say {m['v']}\")\n"
    )
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {},
                "source": handler,
                "outputs": [],
                "execution_count": None,
            }
        ],
    }
    r = api.post("/notebooks", json={"name": "advisor", "kind": "processing", "notebook": nb})
    assert r.status_code == 201, r.text
    api.put("/objects/game.jsonl", content=b'{"v": 2}\n' * 50).raise_for_status()
    tested = server.cli(
        "models",
        "backtest",
        "advisor",
        "game.jsonl",
        "--pin",
        "advice=1",
        "--challenger",
        "advice=2",
    )
    assert tested.returncode == 0, tested.stderr
    figures = json.loads(tested.stdout)
    assert figures["handled"] == 50 and figures["shadow"]["agreement"] == 0
    assert figures["shadow"]["metrics"] == {"champion": {"miss": 1.0}, "challenger": {"miss": 0.0}}
    stream = {"name": "game", "type": "replay", "object": "game.jsonl", "rate": 100, "loop": True}
    assert api.post("/streams", json=stream).status_code == 201
    api.put("/models/advice/aliases/champion", json={"version": 1})
    api.put("/models/advice/aliases/challenger", json={"version": 2})
    pid = api.post("/processors", json={"notebook_id": "advisor", "stream": "game"}).json()["id"]
    shadowed = server.cli("models", "shadow", pid, "advice", "--metric", "miss", "--window", "20")
    assert shadowed.returncode == 0, shadowed.stderr
    assert "advice@challenger in shadow, promoted to @champion on miss" in shadowed.stdout
    decided = wait_until(
        lambda: server.cli("models", "shadow", pid).stdout,
        until=lambda out: "promoted v2" in out,
        timeout=120,
        message="the policy never promoted the challenger",
    )
    assert "miss: challenger 0, champion 1" in decided, decided
    assert server.cli("models", "shadow", pid, "--off").returncode == 0
    api.delete(f"/processors/{pid}")
    api.close()


def test_cli_reports_an_unreachable_server(start_server: Callable[..., Server], tmp_path: Path):
    server = start_server()
    server.url = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "f").write_text("x")
    result = server.cli("upload", str(tmp_path / "f"))
    assert result.returncode == 1
    assert "cannot reach the server" in result.stderr


def test_oversized_upload_is_413_and_leaves_nothing(start_server: Callable[..., Server]) -> None:
    server = start_server(SURICATE_MAX_UPLOAD_BYTES="100000")
    url = f"{server.url}/api/v1/objects/big.bin"
    declared = httpx.put(url, content=b"x" * 100_001, headers=server.headers())
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "upload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is found while streaming
        for _ in range(20):
            yield b"y" * 10_000

    streamed = httpx.put(url, content=chunks(), headers=server.headers())
    assert streamed.status_code == 413
    assert httpx.get(url, headers=server.headers()).status_code == 404
    wait_until(lambda: not server.staged_files(), timeout=5, interval=0.05, message="staging kept")
    assert server.blobs() == []
    ok = httpx.put(url, content=b"z" * 100_000, headers=server.headers())
    assert ok.status_code == 201


def test_upload_cut_off_midway_leaves_nothing(start_server: Callable[..., Server]) -> None:
    server = start_server()
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"PUT /api/v1/objects/cut.bin HTTP/1.1\r\n"
            + f"Host: {host}\r\nAuthorization: Bearer {server.token}\r\n".encode()
            + b"Content-Length: 10000000\r\n\r\n"
            + b"x" * 3_000_000
        )
        wait_until(server.staged_files, timeout=5, interval=0.05, message="nothing staged")
    wait_until(lambda: not server.staged_files(), timeout=5, interval=0.05, message="staging kept")
    r = httpx.get(f"{server.url}/api/v1/objects/cut.bin", headers=server.headers())
    assert r.status_code == 404
    assert server.blobs() == []


def test_bodies_reach_the_store_as_sent_on_one_kept_alive_connection(
    start_server: Callable[..., Server],
) -> None:
    """Request bodies go to the app piece by piece (server/http.py): two uploads pipelined on
    one connection, one chunked in odd sizes and one with a length, arrive byte for byte."""
    server = start_server()
    host, port = server.url.removeprefix("http://").split(":")
    auth = f"Host: {host}\r\nAuthorization: Bearer {server.token}\r\n".encode()
    pieces = [os.urandom(n) for n in (1, 70_000, 3, 300_000, 65_536, 5)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    sized = os.urandom(1_000_003)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"PUT /api/v1/objects/chunked.bin HTTP/1.1\r\n"
            + auth
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + chunked
            + b"PUT /api/v1/objects/sized.bin HTTP/1.1\r\n"
            + auth
            + f"Content-Length: {len(sized)}\r\n\r\n".encode()
            + sized
        )
        sock.settimeout(30)
        sent = {"chunked.bin": b"".join(pieces), "sized.bin": sized}
        digests = [hashlib.sha256(data).hexdigest().encode() for data in sent.values()]
        answers = b""
        while not all(d in answers for d in digests):  # each 201 names the sha256 it stored
            received = sock.recv(65536)
            assert received, answers
            answers += received
    assert answers.count(b"HTTP/1.1 201") == 2
    for name, data in sent.items():
        got = httpx.get(f"{server.url}/api/v1/objects/{name}/content", headers=server.headers())
        assert got.content == data


def test_restart_keeps_objects_and_clears_stale_staging(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    httpx.put(f"{server.url}/api/v1/objects/a", content=b"abc", headers=server.headers())
    (server.data_dir / "objects" / "staging" / "upload-stale").write_bytes(b"half")
    server.process.terminate()
    server.process.wait(timeout=10)
    process, url = restart_server(server)
    try:
        r = httpx.get(f"{url}/api/v1/objects/a/content", headers=server.headers())
        assert r.content == b"abc"
        assert server.staged_files() == []
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_server_memory_stays_flat_while_uploading_1gb(start_server: Callable[..., Server]) -> None:
    server = start_server()
    proc = psutil.Process(server.process.pid)
    size = 1024**3
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(proc.memory_info().rss)
            time.sleep(0.05)

    def body() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            digest.update(block)
            yield block

    httpx.put(f"{server.url}/api/v1/objects/warm", content=b"x" * 1000, headers=server.headers())
    baseline = proc.memory_info().rss
    watcher = threading.Thread(target=sample)
    watcher.start()
    try:
        r = httpx.put(
            f"{server.url}/api/v1/objects/big.bin",
            content=body(),
            headers=server.headers() | {"Content-Length": str(size)},
            timeout=None,
        )
    finally:
        done.set()
        watcher.join()
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == digest.hexdigest()
    growth = max(samples) - baseline
    print(f"server RSS: baseline {baseline >> 20} MiB, peak growth {growth >> 20} MiB for 1 GiB")
    assert growth < 64 * 1024**2  # issue 17: flat, +64 MiB at most for 1 GiB


@pytest.mark.slow
def test_stalled_and_dribbling_uploads_hold_little_server_memory(
    start_server: Callable[..., Server],
) -> None:
    """Hundreds of uploads that send a byte and stall, and a few that send a byte at a time:
    each holds a small buffer of the server's, not a MiB (server/http.py), nor a Python object
    for every few bytes (domain/objects.py)."""
    server = start_server()
    proc = psutil.Process(server.process.pid)
    host, port = server.url.removeprefix("http://").split(":")

    def head(name: str) -> bytes:
        return (
            f"PUT /api/v1/objects/{name} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {server.token}\r\nContent-Length: 104857600\r\n\r\n"
        ).encode()

    httpx.put(
        f"{server.url}/api/v1/objects/warm", content=b"x" * 3_000_000, headers=server.headers()
    )
    baseline = proc.memory_info().rss
    socks = []
    try:
        for i in range(200):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(head(f"stall{i}") + b"a")
            socks.append(sock)
        wait_until(lambda: len(server.staged_files()) >= 200, timeout=30, interval=0.1,
                   message="not every upload began")  # fmt: skip
        for sock in socks:
            sock.sendall(b"b")  # read into a buffer of its own now
        for i in range(4):
            sock = socket.create_connection((host, int(port)))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(head(f"drip{i}"))
            for _ in range(50_000):
                sock.send(b"c")
            socks.append(sock)
        time.sleep(1)
        growth = proc.memory_info().rss - baseline
        print(f"server RSS: baseline {baseline >> 20} MiB, +{growth >> 20} MiB for 204 uploads")
    finally:
        for sock in socks:
            sock.close()
    wait_until(lambda: not server.staged_files(), timeout=30, interval=0.1, message="staging kept")
    assert len(server.blobs()) == 1  # the warm-up's: nothing of the cut uploads is kept
    assert growth < 48 * 1024**2


def test_concurrent_uploads_to_one_name_get_consecutive_versions(
    start_server: Callable[..., Server],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    server = start_server()
    url = f"{server.url}/api/v1/objects/race.csv"

    def put(i: int) -> int:
        return httpx.put(url, content=f"a\n{i}\n".encode(), headers=server.headers()).status_code

    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(put, range(10)))
    assert codes == [201] * 10
    versions = httpx.get(url, headers=server.headers()).json()["versions"]
    assert sorted(v["version"] for v in versions) == list(range(1, 11))
    assert len(server.blobs()) == 10


def test_a_second_server_on_the_same_data_dir_refuses_to_start(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    second = subprocess.run(
        [sys.executable, "-m", "suricate", "serve", "--port", str(free_port())],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "already using the object store" in second.stderr
    assert "Traceback" not in second.stderr
    assert server_up(server.url)


def test_cli_refuses_names_that_are_not_object_names(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = start_server()
    (tmp_path / "f.csv").write_text("a\n1\n")
    for name in ["a/b", "..", "", "tab\there", " padded"]:
        result = server.cli("upload", str(tmp_path / "f.csv"), "--name", name, "-q")
        assert result.returncode == 1, name
        assert "invalid object name" in result.stderr, (name, result.stderr)
    # A name with URL syntax in it is encoded: it names that object, never a query.
    odd = server.cli("upload", str(tmp_path / "f.csv"), "--name", "m.csv?version=1#", "-q")
    assert odd.returncode == 0, odd.stderr
    assert '"name": "m.csv?version=1#"' in odd.stdout
    down = server.cli("download", "x.csv/preview?x=", "-o", str(tmp_path / "o"))
    assert down.returncode == 1
    assert "invalid object name" in down.stderr
    assert server.cli("upload", str(tmp_path / "f.csv"), "-q").returncode == 0
    unwritable = server.cli("download", "f.csv", "-q", "-o", str(tmp_path / "no" / "dir" / "x"))
    assert unwritable.returncode == 1
    assert "Traceback" not in unwritable.stderr


def test_exported_notebook_runs_with_nbclient_outside_suricate(
    start_server: Callable[..., Server],
) -> None:
    import nbclient
    import nbformat

    server = start_server(SURICATE_KERNEL_POOL_SIZE="0")
    headers = server.headers()
    httpx.put(f"{server.url}/api/v1/objects/d.csv", content=b"x,y\n1,2\n3,4\n", headers=headers)
    cells = [
        "from suricate import sdk\ndf = sdk.read_csv('d.csv')",
        "print(int(df.x.sum()))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    created = httpx.post(
        f"{server.url}/api/v1/notebooks",
        json={"name": "sums", "notebook": json.loads(nbformat.writes(nb))},
        headers=headers,
    ).json()
    # Run its cells in a session, as the editor does, and save the outputs.
    session = httpx.post(f"{server.url}/api/v1/sessions", headers=headers, timeout=60).json()["id"]
    content = created["notebook"]
    for cell in content["cells"]:
        result = httpx.post(
            f"{server.url}/api/v1/sessions/{session}/execute",
            json={"code": cell["source"]},
            headers=headers,
            timeout=60,
        ).json()
        assert result["status"] == "ok", result
        cell["outputs"], cell["execution_count"] = result["outputs"], result["execution_count"]
    httpx.put(
        f"{server.url}/api/v1/notebooks/{created['id']}",
        json={"notebook": content},
        headers=headers,
    )
    exported = httpx.get(f"{server.url}/api/v1/notebooks/{created['id']}/ipynb", headers=headers)
    saved = nbformat.reads(exported.text, as_version=4)
    assert saved.cells[1].outputs[0].text == "4\n"
    # Outside Suricate, the SDK finds the server by SURICATE_URL and SURICATE_TOKEN.
    os.environ["SURICATE_URL"], os.environ["SURICATE_TOKEN"] = server.url, server.token
    try:
        saved.cells[1].outputs = []
        nbclient.NotebookClient(saved, timeout=120, kernel_name="python3").execute()
    finally:
        del os.environ["SURICATE_URL"], os.environ["SURICATE_TOKEN"]
    assert saved.cells[1].outputs[0].text == "4\n"


def _notebook(server: Server, name: str, *cells: str) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    r = httpx.post(
        f"{server.url}/api/v1/notebooks",
        json={"name": name, "notebook": json.loads(nbformat.writes(nb))},
        headers=server.headers(),
    )
    return str(r.json()["id"])


def test_cli_run_waits_shows_progress_and_fails_on_failure(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = start_server()
    _notebook(server, "double", "print(n * 2)")
    ok = server.cli("run", "double", "-p", "n=21", "-o", str(tmp_path / "out.ipynb"))
    assert ok.returncode == 0, ok.stderr
    assert "cell 3 of 3" in ok.stderr
    assert '"status": "succeeded"' in ok.stdout
    assert "42" in (tmp_path / "out.ipynb").read_text()
    _notebook(server, "broken", "raise ValueError('bad input')")
    bad = server.cli("run", "broken")
    assert bad.returncode == 1
    assert "run failed in cell 1: ValueError: bad input" in bad.stderr
    missing = server.cli("run", "nope")
    assert missing.returncode == 1
    assert "notebook 'nope' not found" in missing.stderr


def test_a_run_cut_off_by_a_server_crash_is_marked_failed_after_restart(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    nb_id = _notebook(server, "slow", "import time\ntime.sleep(120)")
    run = httpx.post(f"{server.url}/api/v1/notebooks/{nb_id}/runs", headers=server.headers()).json()
    wait_until(
        lambda: httpx.get(f"{server.url}/api/v1/runs/{run['id']}", headers=server.headers()).json(),
        until=lambda record: record["status"] == "running",
        timeout=10,
        interval=0.05,
        message="run never started",
    )
    server.process.kill()
    server.process.wait()
    process, url = restart_server(server)
    try:
        record = httpx.get(f"{url}/api/v1/runs/{run['id']}", headers=server.headers()).json()
        assert record["status"] == "failed"
        assert record["error"]["ename"] == "ServerRestarted"
        assert record["finished_at"] is not None
    finally:
        process.terminate()
        process.wait(timeout=20)
