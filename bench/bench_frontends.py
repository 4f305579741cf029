"""Frontend replicas behind nginx: requests/s of a read-heavy mix, and executes/s, through one
frontend and then through two, in the same run, on PostgreSQL, RabbitMQ and a shared `file://`
store, with one execution node.

    python bench/bench_frontends.py [--seconds 20] [--clients 32]

Needs PostgreSQL (SURICATE_TEST_POSTGRES_URL, default postgres@127.0.0.1), RabbitMQ (guest on
127.0.0.1, a vhost of its own through rabbitmqctl) and Debian's nginx. Prints one table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.proxy import nginx  # noqa: E402
from tests.support.servers import clean_env, free_port, serve  # noqa: E402
from tests.support.services import RABBITMQ, scratch_postgres  # noqa: E402


def vhost() -> tuple[str, str]:
    name = f"suricate-bench-{os.getpid()}"
    ctl = shutil.which("rabbitmqctl") or "rabbitmqctl"
    subprocess.run([ctl, "add_vhost", name], check=True, capture_output=True)
    subprocess.run(
        [ctl, "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    return name, f"{RABBITMQ}/{name}"


def load(url: str, token: str, clients: int, seconds: float, work: Any) -> tuple[int, int]:
    """Run ``work(client)`` in ``clients`` threads for ``seconds``; (requests ok, failed)."""
    ok, failed = [0] * clients, [0] * clients
    stop = time.monotonic() + seconds

    def one(i: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=60) as client:
            while time.monotonic() < stop:
                try:
                    good = work(client, i)
                except httpx.TransportError:
                    good = False
                if good:
                    ok[i] += 1
                else:
                    failed[i] += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(ok), sum(failed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--sessions", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="suricate-bench-frontends-"))
    shared = work / "shared"
    shared.mkdir()
    name, broker = vhost()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with scratch_postgres("suricate_bench") as database:
            env = {
                "SURICATE_DATABASE_URL": database,
                "SURICATE_BROKER_URL": broker,
                "SURICATE_OBJECT_STORE_URL": f"file://{shared}",
                "SURICATE_SECRET_KEY": Fernet.generate_key().decode(),
                "SURICATE_WEBHOOK_SECRET": "bench",
                "SURICATE_KERNEL_POOL_SIZE": "0",
                "SURICATE_LOG_LEVEL": "warning",
                "SURICATE_PASSWORD": "bench password",
            }
            envs = [clean_env(work / f"data{i}") | env for i in range(2)]
            ports = [free_port(), free_port()]
            for i in range(2):
                process, _ = serve(envs[i], ports[i], work / f"frontend{i}.log", timeout=90)
                processes.append(process)
            cli = [sys.executable, "-m", "suricate"]
            quiet: dict[str, Any] = {"env": envs[0], "check": True, "capture_output": True}
            subprocess.run([*cli, "user", "create", "bench", "--tenant", "bench"], **quiet)
            made = subprocess.run([*cli, "token", "create", "bench"], text=True, **quiet)
            token = made.stdout.strip()
            with (work / "node.log").open("wb") as log:
                node_env = envs[0] | {"SURICATE_URL": f"http://127.0.0.1:{ports[0]}"}
                processes.append(
                    subprocess.Popen([*cli, "execnode"], env=node_env, stdout=log, stderr=log)
                )
            headers = {"Authorization": f"Bearer {token}"}
            direct = httpx.Client(
                base_url=f"http://127.0.0.1:{ports[0]}/api/v1", headers=headers, timeout=120
            )
            direct.put("/objects/plays.csv", content=b"play,yards\n" + b"1,7\n" * 2000)
            sessions = [
                direct.post("/sessions", json={}).json()["id"] for _ in range(args.sessions)
            ]

            def reads(client: httpx.Client, i: int) -> bool:
                path = ["/objects", "/objects/plays.csv", "/runs?limit=20", "/notebooks"][i % 4]
                return client.get(path).status_code == 200

            def executes(client: httpx.Client, i: int) -> bool:
                session = sessions[i % len(sessions)]
                r = client.post(f"/sessions/{session}/execute", json={"code": "1 + 1"})
                return r.status_code == 200

            rows = []
            for count in (1, 2):
                upstreams = [f"127.0.0.1:{p}" for p in ports[:count]]
                with nginx(work / f"nginx{count}", free_port(), upstreams) as url:
                    for label, fn, clients in (
                        ("read-heavy mix", reads, args.clients),
                        ("executes", executes, args.sessions * 2),
                    ):
                        ok, failed = load(url, token, clients, args.seconds, fn)
                        rows.append((label, count, clients, ok / args.seconds, failed))
            print(
                f"\nmachine: {os.cpu_count()} cores, {platform.platform()}; {args.seconds:g} s each"
            )
            print("| what | frontends | clients | requests/s | failed |")
            print("| --- | --- | --- | --- | --- |")
            for label, count, clients, rate, failed in rows:
                print(f"| {label} | {count} | {clients} | {rate:.0f} | {failed} |")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        ctl = shutil.which("rabbitmqctl") or "rabbitmqctl"
        subprocess.run([ctl, "delete_vhost", name], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
