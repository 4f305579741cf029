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
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from suricate.client import Client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    work = Path(tempfile.mkdtemp(prefix="suricate-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURICATE_")}
    env |= {
        "SURICATE_DATA_DIR": str(work / "data"),
        "SURICATE_PASSWORD": "bench password",
        "SURICATE_LOG_LEVEL": "warning",
    }
    run = [sys.executable, "-m", "suricate"]
    subprocess.run(
        [*run, "user", "create", "bench", "--tenant", "bench"],
        env=env,
        check=True,
        capture_output=True,
    )
    token = subprocess.run(
        [*run, "token", "create", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [*run, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/api/v1/health")
                break
            except httpx.TransportError:
                time.sleep(0.05)
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

        client = Client(url, token)
        t_copy = best(copy, repeat)
        t_up = best(lambda: client.upload(src, name="payload.bin"), repeat)
        t_down = best(lambda: client.download("payload.bin", work / "down.bin"), repeat)
        client.close()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)

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
