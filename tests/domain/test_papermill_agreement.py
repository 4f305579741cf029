"""Runs agree with the papermill CLI: same verdict, same cells run, same stream outputs.

tests/files/papermill/ holds our own notebooks, written to cover what papermill's and nbclient's
test notebooks cover (sysexit, sysexit0, systemexit, notimplemented_translator, Skip Exceptions
with Cell Tags, Skip Execution with Cell Tag, Disable Stdin, Clear Output, update-display-id,
Other Comms), and expected.json, written by running the papermill CLI on them once (golden.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import finished_run

pytestmark = [
    pytest.mark.sqlite_only("kernels do the work here: one database keeps these tests quick"),
    pytest.mark.settings(kernel_pool_size=1),
    pytest.mark.slow,
]

HERE = Path(__file__).parent.parent / "files" / "papermill"
EXPECTED = json.loads((HERE / "expected.json").read_text())


def _text(value: Any) -> str:
    text = "".join(value) if isinstance(value, list) else str(value)
    return re.sub(r"\S*/site-packages/", "<site-packages>/", text)  # as golden.py writes it


def shown(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cells with their streams as a notebook shows them: a stream's text right after the same
    stream's joins it (nbclient keeps each message as the kernel flushed it: a matter of timing,
    'ok' and '\\n' arrive together or apart)."""
    result = []
    for cell in cells:
        streams: list[dict[str, str]] = []
        for stream in cell["streams"]:
            if streams and streams[-1]["name"] == stream["name"]:
                streams[-1] = {**streams[-1], "text": streams[-1]["text"] + stream["text"]}
            else:
                streams.append(dict(stream))
        result.append({**cell, "streams": streams})
    return result


def summary(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """Each cell as golden.py records papermill's: ran, stream outputs, error name."""
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            cells.append({"ran": False, "streams": [], "error": None})
            continue
        outputs = cell.get("outputs", [])
        errors = [o["ename"] for o in outputs if o["output_type"] == "error"]
        cells.append(
            {
                "ran": cell.get("execution_count") is not None,
                "streams": [
                    {"name": o["name"], "text": _text(o["text"])}
                    for o in outputs
                    if o["output_type"] == "stream"
                ],
                "error": errors[0] if errors else None,
            }
        )
    return cells


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_a_run_agrees_with_papermill(alice: TestClient, stem: str) -> None:
    expected = EXPECTED[stem]
    path = HERE / f"{stem}.ipynb"
    imported = alice.post(
        "/api/v1/notebooks/import", files={"file": (path.name, path.read_bytes())}
    )
    assert imported.status_code == 201, imported.text
    run_id = alice.post(f"/api/v1/notebooks/{imported.json()['id']}/runs").json()["id"]
    run = finished_run(alice, run_id)
    executed = alice.get(f"/api/v1/runs/{run_id}/notebook").json()
    got = {"verdict": run["status"], "cells": shown(summary(executed))}
    if expected["cells"] is None:  # papermill refused to start: nothing may have run
        unrun = {"ran": False, "streams": [], "error": None}
        want = {"verdict": expected["verdict"], "cells": [unrun for _ in got["cells"]]}
    else:
        want = {"verdict": expected["verdict"], "cells": shown(expected["cells"])}
    assert got == want, json.dumps({"got": got, "want": want, "error": run["error"]}, indent=1)


def test_a_non_python_notebook_fails_clearly(alice: TestClient) -> None:
    path = HERE / "r_language.ipynb"
    nb_id = alice.post(
        "/api/v1/notebooks/import", files={"file": (path.name, path.read_bytes())}
    ).json()["id"]
    run = finished_run(alice, alice.post(f"/api/v1/notebooks/{nb_id}/runs").json()["id"])
    assert run["status"] == "failed"
    assert run["error"]["ename"] == "NoSuchKernel"
    assert "kernel 'ir' (language R)" in run["error"]["evalue"]
    assert "Python notebooks only" in run["error"]["evalue"]


@pytest.mark.parametrize("stem", ["sys_exit_0", "raises_exception_tag"])
def test_the_golden_file_still_says_what_papermill_says(tmp_path: Path, stem: str) -> None:
    """Papermill, run live on two notebooks, still gives the committed verdict and outputs."""
    import subprocess
    import sys

    import nbformat

    from tests.files.papermill.golden import summary as papermill_summary

    out = tmp_path / "out.ipynb"
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--no-progress-bar", str(HERE / f"{stem}.ipynb"), out],
        capture_output=True,
        cwd=tmp_path,
        timeout=100,
    )
    verdict = "succeeded" if done.returncode == 0 else "failed"
    cells = papermill_summary(nbformat.read(out, as_version=4))
    assert verdict == EXPECTED[stem]["verdict"], done.stderr[-2000:]
    assert shown(cells) == shown(EXPECTED[stem]["cells"])
