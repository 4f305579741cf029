"""Kernel density and time to a first result: forked kernels against plain ones, side by side.

A real `suricate serve` (embedded node, sandboxed kernels) with no warm pool
(`SURICATE_KERNEL_POOL_SIZE=0`), once with `SURICATE_KERNEL_FORK=1` and once with `0`. Two
tenants, one user each, each open SESSIONS sessions (the most a user may have open by default) and
import pandas, scikit-learn and matplotlib in each. Measured:

* time to the first result: `POST /api/v1/sessions` then the import cell, per session (the
  first session of a tenant starts its template when forking);
* once they are idle, the summed PSS (`/proc/PID/smaps_rollup`) of every process the server
  started (templates, their spare children, bubblewrap, kernels), per session; and from it how
  many idle data-science kernels would fit in 4 GiB, and what 100 would need.

Usage: python bench/bench_density.py [SESSIONS] [forked]   (needs bubblewrap; run as root or not)
More than 8 sessions raise the quotas to match; `forked` skips the plain kernels (50 sessions
each: 100 idle forked kernels, measured rather than estimated).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import serve

CELL = "import pandas, sklearn, matplotlib.pyplot as plt\nlen(pandas.DataFrame({'a': [1, 2]}))"
MiB = 1024 * 1024
AIM_PSS_MIB = 40
AIM_FIRST_MS = 100


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, recursively), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def _runs_template(pid: int) -> bool:
    """Python running the template (bubblewrap's command lines name it too)."""
    line = cmdline(pid)
    return "suricate.node.template" in line and "python" in line.split(" ", 1)[0]


def is_template(pid: int) -> bool:
    """A template (its forked kernels have its command line too, and it as their parent)."""
    return _runs_template(pid) and not _runs_template(parent(pid))


def is_spare(pid: int) -> bool:
    """A template's spare child, forked ahead of the next request: it still has the template's
    working dir (a kernel moves to its runtime dir)."""
    if not _runs_template(pid) or not is_template(parent(pid)):
        return False
    try:
        return os.readlink(f"/proc/{pid}/cwd") == os.readlink(f"/proc/{parent(pid)}/cwd")
    except OSError:
        return False


def sharing_the_stack(ours: set[int]) -> list[int]:
    """Other processes that map numpy's core library, as ours do: the pages of the stack's
    shared libraries (~115 MiB here) are then split with them, and our PSS reads lower than on
    a machine where only the server's processes have the stack loaded (left-over kernels of an
    earlier run took 3.5 MiB off "a session")."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours or int(entry.name) == os.getpid():
            continue
        try:
            if "_multiarray_umath" in (entry / "maps").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def rollup(pid: int) -> dict[str, int]:
    """/proc/PID/smaps_rollup in KiB: Rss, Pss, Private_Dirty, ..."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    found = {}
    for line in text.splitlines()[1:]:
        key, _, value = line.partition(":")
        found[key] = int(value.split()[0])
    return found


def pss_kib(pid: int) -> int:
    return rollup(pid).get("Pss", 0)


def uss_kib(pid: int) -> int:
    """Memory the process alone holds (what one more like it costs)."""
    r = rollup(pid)
    return r.get("Private_Clean", 0) + r.get("Private_Dirty", 0)


def run(fork: str, sessions: int) -> dict[str, float]:
    with serve(
        users=("dense",),
        SURICATE_KERNEL_POOL_SIZE="0",
        SURICATE_KERNEL_FORK=fork,
        SURICATE_KERNEL_IDLE_TIMEOUT="3600",
        SURICATE_QUOTA_SESSIONS_PER_USER=str(max(8, sessions)),
        SURICATE_QUOTA_KERNELS_PER_TENANT=str(max(16, sessions + 8)),
    ) as served:
        clients = [
            httpx.Client(
                base_url=f"{served.url}/api/v1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=300,
            )
            for token in (served.token, served.tokens["dense"])
        ]
        firsts: list[float] = []
        for _ in range(sessions):
            for http in clients:
                start = time.perf_counter()
                session = http.post("/sessions")
                session.raise_for_status()
                result = http.post(f"/sessions/{session.json()['id']}/execute", json={"code": CELL})
                result.raise_for_status()
                assert result.json()["status"] == "ok", result.json()
                firsts.append((time.perf_counter() - start) * 1000)
        time.sleep(3)  # idle: outputs flushed, nothing running
        pids = descendants(served.pid)
        total = sum(pss_kib(p) for p in pids) * 1024
        templates = sum(pss_kib(p) for p in pids if is_template(p)) * 1024
        template_rss = sum(rollup(p).get("Rss", 0) for p in pids if is_template(p)) * 1024
        spares = [p for p in pids if is_spare(p)]
        spare_pss = sum(pss_kib(p) for p in spares) * 1024
        kernels = [p for p in pids if _runs_template(p) and not is_template(p) and p not in spares]
        kernel_uss = sum(uss_kib(p) for p in kernels) * 1024 / max(1, len(kernels))
        others = sharing_the_stack({served.pid, *pids})
        for http in clients:
            http.close()
    count = 2 * sessions
    per = total / count
    return {
        "sessions": count,
        "processes": len(pids),
        "total_mib": total / MiB,
        "per_session_mib": per / MiB,
        "templates_mib": templates / MiB,
        "rest_per_session_mib": (total - templates - spare_pss) / count / MiB,
        "spares": len(spares),
        "spare_pss_mib": spare_pss / MiB,
        "template_rss_mib": template_rss / MiB,
        "kernel_uss_mib": kernel_uss / MiB,
        "first_median_ms": statistics.median(firsts),
        "first_max_ms": max(firsts),
        "first_min_ms": min(firsts),
        "fit_4gib": int(4096 * MiB // per),
        "others": len(others),
    }


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    modes = ("1",) if sys.argv[2:3] == ["forked"] else ("1", "0")
    print(f"{platform.node()}: {os.cpu_count()} cores, {platform.platform()}, uid {os.getuid()}")
    results = {}
    for fork in modes:
        r = results[fork] = run(fork, sessions)
        name = "forked" if fork == "1" else "plain "
        print(
            f"  {name}: {r['sessions']} idle sessions, {r['processes']} processes, "
            f"{r['total_mib']:.0f} MiB PSS = {r['per_session_mib']:.1f} MiB a session "
            f"(~{r['fit_4gib']} fit in 4 GiB); first result median {r['first_median_ms']:.0f} ms "
            f"(min {r['first_min_ms']:.0f}, max {r['first_max_ms']:.0f})"
        )
        if r["others"]:
            print(
                f"          NOTE: {r['others']} other processes map the same libraries (left-over"
                " kernels?): the PSS above is lower than on a machine without them"
            )
        if r["templates_mib"]:
            # One more kernel costs its own pages (USS); the shared ones are the templates'.
            hundred = (r["template_rss_mib"] + 100 * r["kernel_uss_mib"]) / 1024
            print(
                f"          templates {r['templates_mib']:.0f} MiB PSS ({r['template_rss_mib']:.0f}"
                f" MiB RSS), each kernel {r['rest_per_session_mib']:.1f} MiB PSS, "
                f"{r['kernel_uss_mib']:.1f} MiB its own (USS); {r['spares']} spare children "
                f"{r['spare_pss_mib']:.1f} MiB PSS in all: 100 idle kernels of these 2 "
                f"users ~{hundred:.1f} GiB by that (aim < 4 GiB); measured here: "
                f"{r['sessions']} kernels in {r['total_mib'] / 1024:.2f} GiB"
            )
    if "0" not in results:
        return
    forked, plain = results["1"], results["0"]
    print(f"  density: {plain['per_session_mib'] / forked['per_session_mib']:.1f}x (aim 4x)")
    print(
        f"  aims: <= {AIM_PSS_MIB} MiB a session: "
        f"{'met' if forked['per_session_mib'] <= AIM_PSS_MIB else 'NOT met'}; median first "
        f"result <= {AIM_FIRST_MS} ms: "
        f"{'met' if forked['first_median_ms'] <= AIM_FIRST_MS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
