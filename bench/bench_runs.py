"""Runs against the papermill CLI on the same trivial notebook, side by side in one run.

Measures the time from `POST /api/v1/notebooks/{id}/runs` to the run's `succeeded` (polling the
run every 10 ms) on a real `suricate serve` with no warm pool (each run's kernel is forked),
against `papermill in.ipynb out.ipynb -p n 2` as a command, both on a 3-cell notebook with a
`parameters` cell.

Usage: python bench/bench_runs.py [REPEAT]
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nbformat

sys.path.insert(0, str(Path(__file__).parent))
from common import serve


def trivial_notebook() -> dict:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("n * 2")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return json.loads(nbformat.writes(nb))


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    nb = trivial_notebook()
    # No warm pool: each run's kernel is forked from its user's template (issue 17).
    with serve(SURICATE_KERNEL_POOL_SIZE="0") as served:
        http = httpx.Client(
            base_url=f"{served.url}/api/v1",
            headers={"Authorization": f"Bearer {served.token}"},
            timeout=120,
        )
        nb_id = http.post("/notebooks", json={"name": "trivial", "notebook": nb}).json()["id"]

        def one_run() -> float:
            start = time.perf_counter()
            run = http.post(f"/notebooks/{nb_id}/runs", json={"parameters": {"n": 2}}).json()
            while run["status"] in ("queued", "running"):
                time.sleep(0.01)
                run = http.get(f"/runs/{run['id']}").json()
            assert run["status"] == "succeeded", run
            return time.perf_counter() - start

        one_run()  # the user's first run starts its template
        ours = []
        for _ in range(repeat):
            time.sleep(0.5)  # the last run's kernel is shut down after its record says so
            ours.append(one_run())
        http.close()

        source = served.work / "in.ipynb"
        source.write_text(json.dumps(nb))
        theirs = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "papermill",
                    str(source),
                    str(served.work / "out.ipynb"),
                    "-p",
                    "n",
                    "2",
                    "--log-level",
                    "ERROR",
                ],
                check=True,
                capture_output=True,
            )
            theirs.append(time.perf_counter() - start)

    ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {repeat} runs each"
    )
    print(f"papermill CLI (baseline)           median {theirs_ms:8.1f} ms")
    ratio = theirs_ms / ours_ms
    print(
        f"POST .../runs -> succeeded         median {ours_ms:8.1f} ms  {ratio:5.1f}x faster "
        f"(aim: 25x, {'met' if ratio >= 25 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
