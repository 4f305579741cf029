"""Schemathesis against a real server on loopback, as two tenants: no 5xx, and every answer is
one the OpenAPI document lists, in the shape it gives.

Bounded: five examples per operation and tenant (some five minutes in all here). Operations that
start kernels (sessions, runs, schedules, processors, Jupyter kernels and sessions) are left out:
they cost seconds each and are covered by their own tests.
Streams may only name 127.0.0.1, so no generated host is ever looked up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PASSWORD
from tests.support.servers import clean_env, free_port, serve, suricate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
# An object's content comes back with the Content-Type it was uploaded with, whatever its bytes
# (a fuzzer's "JSON" that is not): only statuses are checked there.
RAW = "/api/v1/objects/{name}/content"
LEFT_OUT = [
    "/api/v1/sessions",
    "/api/v1/notebooks/{notebook_id}/runs",
    "/api/v1/notebooks/{notebook_id}/schedules",
    "/api/v1/processors",
    "/api/v1/processors/{processor_id}/restart",
    "/api/v1/processors/{processor_id}/dead-letters/replay",
    "/jupyter/api/kernels",
    "/jupyter/api/sessions",
    "/jupyter/api/sessions/{session_id}",
]


def _fuzz(
    url: str, token: str, report: Path, checks: list[str], paths: list[str] | None = None
) -> dict[str, object]:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a dev dependency: pip install -c constraints.txt -e '.[dev]'"
    command = [
        st,
        "run",
        f"{url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(checks),
        "--phases",
        "fuzzing",
        "--max-examples",
        "5",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--seed",
        "14",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    if paths is not None:
        for path in paths:
            command += ["--include-path", path]
    else:
        for path in [*LEFT_OUT, RAW]:
            command += ["--exclude-path", path]
    # Run where its cache (.schemathesis/, .hypothesis/) stays out of the repository.
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=report.parent)
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    result: dict[str, object] = json.loads(report.read_text())
    result["output"] = run.stdout[-6000:]
    return result


def test_schemathesis_finds_no_5xx_and_no_answer_off_the_schema(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "data") | {
        "SURICATE_PASSWORD": PASSWORD,
        "SURICATE_KERNEL_POOL_SIZE": "0",
        "SURICATE_STREAM_ALLOWED_HOSTS": "127.0.0.1",
    }
    tokens = {}
    for user, tenant in (("alice", "acme"), ("bob", "globex")):
        suricate(env, "user", "create", user, "--tenant", tenant)
        tokens[user] = suricate(env, "token", "create", user)
    # A loaded machine may take a while to start a server: wait longer than usual.
    process, url = serve(env, free_port(), tmp_path / "server.log", timeout=90)
    try:
        for user, token in tokens.items():
            result = _fuzz(url, token, tmp_path / f"{user}.json", CHECKS)
            assert result["failures"] == [], result["output"]
            cases = result["test_cases"]
            # It fuzzed for real (how many cases fit in the time depends on the machine's load).
            assert isinstance(cases, dict) and cases["generated"] >= 30, result["output"]
            assert cases["with_failures"] == 0, result["output"]
            raw = _fuzz(url, token, tmp_path / f"{user}-raw.json", CHECKS[:2], [RAW])
            assert raw["failures"] == [], raw["output"]
        assert process.poll() is None  # still serving
    finally:
        process.terminate()
        process.wait(timeout=30)
