"""Sessions against raw jupyter_client, side by side in one run.

1. Round trip of a trivial cell (`1+1`): `POST /api/v1/sessions/{id}/execute`, and an execute
   through the session's WebSocket (`/api/v1/sessions/{id}/ws`, the notebook page's: from
   sending it to the idle status after its result), on a real `suricate serve` (embedded node,
   sandboxed kernel) vs jupyter_client's `execute_interactive` on a kernel of the same kind
   (same bubblewrap command line, started directly). They take turns, in blocks, so that a
   change of load on the machine weighs on all three alike.
2. Time to a first result of `import pandas, sklearn`: `POST /sessions` + execute with the warm
   pool vs a cold jupyter_client kernel start + the same cell.

Usage: python bench/bench_kernels.py [ROUND_TRIPS] [STARTS]
(BENCH_PORT=N: the server's port.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from websockets.asyncio.client import ClientConnection, connect

from suricate.node.sandbox import Limits, kernel_command, kernel_env, prepare

sys.path.insert(0, str(Path(__file__).parent))
from common import serve

IMPORTS = "import pandas, sklearn"
BLOCKS = 5  # turns each way of running the cell takes


def raw_kernel(runtime: Path) -> KernelManager:
    """Start a kernel of the same kind as Suricate's, with plain jupyter_client."""
    runtime.mkdir(parents=True, exist_ok=True)
    # Suricate's bubblewrap command, without the uid drop and the scratch mount: plain
    # jupyter_client writes the kernel's files as this process's uid.
    limits = Limits(2048)
    plan = dataclasses.replace(prepare("auto", 64100, limits), drop=[], mount_scratch=False)
    argv = kernel_command(plan, runtime, limits, "none", [], {}, None, rlimit_as=False)
    km = KernelManager(
        transport="ipc", ip=str(runtime / "k"), connection_file=str(runtime / "c.json")
    )
    km._kernel_spec = KernelSpec(
        argv=argv, display_name="py", language="python", interrupt_mode="message"
    )
    km.start_kernel(env=kernel_env(runtime, limits))
    return km


async def round_trips(
    http: httpx.Client,
    session: str,
    ws_url: str,
    token: str,
    kc: BlockingKernelClient,
    trips: int,
) -> tuple[list[float], list[float], list[float]]:
    """Time ``1+1`` through REST, the WebSocket and raw jupyter_client, in turns; after a
    warm-up of each. The WebSocket is open only for its turns, as a page is (with a page open,
    every cell's events go to it, REST's too)."""
    ours: list[float] = []
    socket: list[float] = []
    raw: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def ws_turn(count: int, tag: str, times: list[float]) -> None:
        async with connect(ws_url, additional_headers=headers) as ws:
            json.loads(await ws.recv())  # the session's state, sent on connect
            for i in range(count):
                t = time.perf_counter()
                await ws_execute(ws, f"{tag}{i}")
                times.append(time.perf_counter() - t)

    for _ in range(20):
        http.post(f"/sessions/{session}/execute", json={"code": "1+1"})
        kc.execute_interactive("1+1", output_hook=lambda m: None)
    await ws_turn(20, "warm", [])
    for block in range(BLOCKS):
        n = trips // BLOCKS + (1 if block < trips % BLOCKS else 0)
        for _ in range(n):
            t = time.perf_counter()
            r = http.post(f"/sessions/{session}/execute", json={"code": "1+1"})
            ours.append(time.perf_counter() - t)
            assert r.json()["status"] == "ok"
        await ws_turn(n, f"b{block}c", socket)
        for _ in range(n):
            t = time.perf_counter()
            kc.execute_interactive("1+1", output_hook=lambda m: None)
            raw.append(time.perf_counter() - t)
    return ours, socket, raw


async def ws_execute(ws: ClientConnection, cell: str) -> None:
    """Run ``1+1`` as the notebook page does; return once the session is idle after it."""
    await ws.send(json.dumps({"type": "execute", "code": "1+1", "cell": cell}))
    done = False
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == "result" and event.get("cell") == cell:
            assert event["status"] == "ok", event
            done = True
        elif done and event["type"] == "status" and event["execution_state"] == "idle":
            return
        elif event["type"] == "error":
            raise RuntimeError(event)


def main() -> None:
    trips = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    starts = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with serve(SURICATE_KERNEL_POOL_SIZE="1") as served:
        work = served.work
        http = httpx.Client(
            base_url=f"{served.url}/api/v1",
            headers={"Authorization": f"Bearer {served.token}"},
            timeout=120,
        )
        # 1. Round trips, the three ways taking turns.
        session = http.post("/sessions").json()["id"]
        km = raw_kernel(work / "raw")
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        ws_url = served.url.replace("http", "ws", 1) + f"/api/v1/sessions/{session}/ws"
        ours, socket, raw = asyncio.run(round_trips(http, session, ws_url, served.token, kc, trips))
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        http.delete(f"/sessions/{session}")

        # 2. First result of the usual imports: a forked kernel (or a warm one, with
        # SURICATE_KERNEL_FORK=0) vs a cold start.
        warm = []
        for _ in range(starts):
            time.sleep(6)  # let the pool refill after the previous session
            t = time.perf_counter()
            s = http.post("/sessions").json()["id"]
            r = http.post(f"/sessions/{s}/execute", json={"code": IMPORTS})
            warm.append(time.perf_counter() - t)
            assert r.json()["status"] == "ok", r.text
            http.delete(f"/sessions/{s}")
        cold = []
        for i in range(starts):
            t = time.perf_counter()
            km = raw_kernel(work / f"cold{i}")
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            kc.execute_interactive(IMPORTS, output_hook=lambda m: None, timeout=120)
            cold.append(time.perf_counter() - t)
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        http.close()

    def ms(values: list[float]) -> str:
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        return f"median {statistics.median(values) * 1000:8.2f} ms, p90 {p90 * 1000:8.2f} ms"

    sandboxed = prepare("auto", 64100, Limits(2048)).sandboxed
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; sandboxed kernels: {sandboxed}"
    )
    print(f"1+1 round trip, {trips} calls")
    print(f"  raw jupyter_client execute_interactive (baseline)  {ms(raw)}")
    print(
        f"  POST /sessions/{{id}}/execute                         {ms(ours)}  ratio "
        f"{statistics.median(ours) / statistics.median(raw):5.2f}x"
    )
    print(
        f"  execute through /sessions/{{id}}/ws                   {ms(socket)}  ratio "
        f"{statistics.median(socket) / statistics.median(raw):5.2f}x"
    )
    print(f"first result of `{IMPORTS}`, {starts} starts")
    print(f"  cold kernel start + imports (baseline)              {ms(cold)}")
    print(
        f"  POST /sessions + execute, forked or warm          {ms(warm)}  "
        f"{statistics.median(cold) / statistics.median(warm):5.1f}x faster"
    )


if __name__ == "__main__":
    main()
