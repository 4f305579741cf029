"""Object upload/download throughput through `suricate serve` against a plain file copy.

Runs a real server on embedded defaults, then for one file of SIZE MiB measures, in REPEAT
rounds (each runs all three, so that load from elsewhere weighs on them alike):
- baseline: `shutil.copyfile` of the file to the same disk (plain file copy), with fsync;
- upload: `PUT /api/v1/objects/{name}` streamed by `suricate.Client` (the CLI's code path: the
  file hashed while it is sent, its sha256 after the bytes) -> hashed, staged, fsynced,
  renamed, recorded;
- download: `GET /api/v1/objects/{name}/content` streamed to a file by `suricate.Client`
  (sha256 checked, renamed into place).
- the same upload and download by curl (when on PATH): a plain client that hashes nothing, so
  the upload's one sha256 pass is the server's (the Client's own pass checks end to end).
Each writes one new file of SIZE MiB: what was written before (the copy, the object, the
downloaded file) is removed between rounds, outside the timings.
Usage: python bench/bench_objects.py [SIZE_MIB] [REPEAT]
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from suricate.kernel.client import Client

sys.path.insert(0, str(Path(__file__).parent))
from common import serve


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    load_before = os.getloadavg()
    with serve() as served:
        work = served.work
        src, dst, down = work / "payload.bin", work / "copy.bin", work / "down.bin"
        with src.open("wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(1024 * 1024))

        def copy() -> None:
            shutil.copyfile(src, dst)
            with dst.open("rb+") as f:
                os.fsync(f.fileno())

        client = Client(served.url, served.token)
        client.upload(src, name="warm-up.bin")  # the connection, the store's directories
        url = f"{served.url}/api/v1/objects/payload.bin"
        auth = ["-H", f"Authorization: Bearer {served.token}"]

        def curl(*args: str, out: Path | str = "/dev/null") -> None:
            # No "Expect: 100-continue" wait before the body: a plain PUT, as most clients send.
            command = ["curl", "-sSf", "-o", str(out), *auth, "-H", "Expect:", *args]
            subprocess.run(command, check=True)

        times: dict[str, list[float]] = {"copy": [], "upload": [], "download": []}
        if shutil.which("curl"):
            times |= {"upload by curl": [], "download by curl": []}
        for _ in range(repeat):
            times["copy"].append(timed(copy))
            dst.unlink()
            times["upload"].append(timed(lambda: client.upload(src, name="payload.bin")))
            times["download"].append(timed(lambda: client.download("payload.bin", down)))
            down.unlink()
            client.delete_object("payload.bin")
            if "upload by curl" in times:
                times["upload by curl"].append(timed(lambda: curl("-T", str(src), url)))
                times["download by curl"].append(timed(lambda: curl(f"{url}/content", out=down)))
                down.unlink()
                client.delete_object("payload.bin")
        client.close()
    load_after = os.getloadavg()

    def rate(t: float) -> str:
        return f"{size_mib / t:8.1f} MiB/s"

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; file {size_mib} MiB, best of {repeat}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    for what, values in times.items():
        print(f"  {what:16s} rounds: " + " ".join(f"{t:.3f}" for t in values))
    t_copy = min(times["copy"])
    print(f"plain file copy with fsync (baseline) {t_copy:7.3f} s {rate(t_copy)}")
    for what in [w for w in times if w != "copy"]:
        best = min(times[what])
        rounds = statistics.median(t / c for t, c in zip(times[what], times["copy"], strict=True))
        label = what if "curl" in what else f"{what} via REST (Client)"
        print(
            f"{label:37s} {best:7.3f} s {rate(best)}  ratio {best / t_copy:5.2f}x "
            f"(median of rounds {rounds:5.2f}x)"
        )


if __name__ == "__main__":
    main()
