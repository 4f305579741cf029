"""`suricate demo` end to end, as a new user runs it: twice, the second reusing the first."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port


def _demo(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURICATE_")}
    env |= {"SURICATE_DATA_DIR": str(data_dir), "SURICATE_KERNEL_POOL_SIZE": "1"}
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "suricate", "demo", "--port", str(port), "--rate", "20"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _ready(process: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = re.search(r"API token: (\S+)", text)
        if found:
            return found.group(1)
        assert "set-up stopped" not in text, text
        assert process.poll() is None, text
        time.sleep(0.5)
    raise AssertionError(log.read_text())


@pytest.mark.slow
def test_demo_sets_up_the_football_story_and_a_second_run_reuses_it(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1"
    first_log = tmp_path / "first.log"
    process = _demo(tmp_path / "data", port, first_log)
    try:
        token = _ready(process, first_log, 300)
        text = first_log.read_text()
        assert "password" in text and "user demo" in text
        first_token = token
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        games = http.get("/objects", params={"tag": "gamecenter", "limit": 1000}).json()["items"]
        assert len(games) == 332
        runs = http.get("/runs", params={"limit": 100}).json()["items"]
        assert len(runs) == 4 and {r["status"] for r in runs} == {"succeeded"}
        deadline = time.monotonic() + 60
        while not (actions := http.get("/actions").json()["items"]):
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert re.match(r"\d(st|nd|rd|th) and \d+ at ", actions[0]["text"]), actions[0]
        http.close()
    finally:
        process.terminate()
        process.wait(timeout=60)

    second_log = tmp_path / "second.log"
    process = _demo(tmp_path / "data", port, second_log)
    try:
        token = _ready(process, second_log, 120)
        text = second_log.read_text()
        assert "uploading" not in text and "running 01-ingest" not in text
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        assert len(http.get("/runs").json()["items"]) == 4
        stale = httpx.get(f"{url}/me", headers={"Authorization": f"Bearer {first_token}"})
        assert stale.status_code == 401, "the first run's token is revoked"
        processors = http.get("/processors").json()["items"]
        assert len(processors) == 1
        http.close()
    finally:
        process.terminate()
        process.wait(timeout=60)
