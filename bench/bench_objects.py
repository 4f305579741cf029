"""Object upload/download throughput through `suricate serve` against a plain file copy.

Runs a real server on embedded defaults, then for one file of SIZE MiB measures, best of REPEAT:
- baseline: `shutil.copyfile` of the file to the same disk (plain file copy), with fsync;
- upload: `PUT /api/v1/objects/{name}` streamed by httpx (the CLI's code path, sha256 pre-check
  included) -> hashed, staged, fsynced, renamed, recorded;
- download: `GET /api/v1/objects/{name}/content` streamed to a file.
Usage: python bench/bench_objects.py [SIZE_MIB] [REPEAT]
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from pathlib import Path

from suricate.kernel.client import Client

sys.path.insert(0, str(Path(__file__).parent))
from common import serve


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with serve() as served:
        work = served.work
        src = work / "payload.bin"
        with src.open("wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(1024 * 1024))

        def copy() -> None:
            dst = work / "copy.bin"
            shutil.copyfile(src, dst)
            with dst.open("rb+") as f:
                os.fsync(f.fileno())
            dst.unlink()

        client = Client(served.url, served.token)
        t_copy = best(copy, repeat)
        t_up = best(lambda: client.upload(src, name="payload.bin"), repeat)
        t_down = best(lambda: client.download("payload.bin", work / "down.bin"), repeat)
        client.close()

    def rate(t: float) -> str:
        return f"{size_mib / t:8.1f} MiB/s"

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; file {size_mib} MiB, best of {repeat}"
    )
    print(f"plain file copy (baseline) {t_copy:7.3f} s {rate(t_copy)}")
    print(f"upload via REST            {t_up:7.3f} s {rate(t_up)}  ratio {t_up / t_copy:5.2f}x")
    print(
        f"download via REST          {t_down:7.3f} s {rate(t_down)}  ratio {t_down / t_copy:5.2f}x"
    )


if __name__ == "__main__":
    main()
