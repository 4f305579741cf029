"""Processors against a plain aio-pika consumer doing the same work, side by side in one run.

Each case pre-loads N messages into a fresh durable RabbitMQ queue, then drains it:
- baseline: a plain aio-pika consumer (prefetch 100, one manual ack per message) running the
  same work in the same way (nothing, or scikit-learn `predict` on a 1-row DataFrame);
- Suricate: a processor (a sandboxed kernel on the embedded execution node of a real
  `suricate serve`) with `on_message` or `on_batch`, every message recorded as an action.
Throughput is messages over the time from the processor's start (status `running`) or the
consumer's first message, to the last message handled.

Latency (publish -> action) is measured at a steady rate well below capacity: messages carry
their publish time and the action feed (`GET /api/v1/actions/feed`, server-sent events) gives
the time each action became visible.

Needs the RabbitMQ of this machine (amqp://guest:guest@127.0.0.1:5672/).
Every throughput case is run REPEAT times and the best is kept (the machine is shared).
Usage: python bench/bench_processors.py [N] [REPEAT]
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import joblib
import nbformat
import numpy as np
import pandas as pd
import pika
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).parent))
from common import serve

BROKER = os.environ.get("SURICATE_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
FEATURES = ["down", "distance", "yardline"]


def model() -> LogisticRegression:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.integers(0, 100, size=(500, 3)), columns=FEATURES)
    y = (X["distance"] > 50).astype(int)
    return LogisticRegression().fit(X, y)


def publish(queue: str, n: int, stamp: bool = False, rate: float | None = None) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(BROKER))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    channel.confirm_delivery()
    props = pika.BasicProperties(delivery_mode=2, content_type="application/json")
    start = time.perf_counter()
    for i in range(n):
        body = {"n": i, "down": i % 4 + 1, "distance": i % 97, "yardline": i % 100}
        if stamp:
            body["t"] = time.time()
        channel.basic_publish("", queue, json.dumps(body).encode(), props)
        if rate:
            wait = start + (i + 1) / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
    connection.close()


def purge(queue: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(BROKER))
    connection.channel().queue_delete(queue)
    connection.close()


async def plain_consumer(queue: str, n: int, work: Any) -> float:
    """Drain ``n`` messages with aio-pika, manual ack each; return the seconds it took."""
    import aio_pika

    connection = await aio_pika.connect_robust(BROKER)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=100)
    q = await channel.declare_queue(queue, durable=True)
    done = asyncio.Event()
    seen = 0
    started = 0.0

    async def on_message(message: Any) -> None:
        nonlocal seen, started
        if seen == 0:
            started = time.perf_counter()
        work(json.loads(message.body))
        await message.ack()
        seen += 1
        if seen >= n:
            done.set()

    await q.consume(on_message)
    await done.wait()
    elapsed = time.perf_counter() - started
    await connection.close()
    return elapsed


TRIVIAL = """
def on_message(msg):
    pass
"""

ACTION_EACH = """
def on_message(msg):
    sdk.action("seen", n=msg.body["n"])
"""

PER_MESSAGE = """
import pandas as pd
model = sdk.load("model.joblib")
FEATURES = ["down", "distance", "yardline"]

def on_message(msg):
    label = model.predict(pd.DataFrame([msg.body], columns=FEATURES))[0]
    sdk.action("predicted", n=msg.body["n"], label=int(label))
"""

PER_BATCH = """
import pandas as pd
model = sdk.load("model.joblib")
FEATURES = ["down", "distance", "yardline"]

def on_batch(msgs):
    frame = pd.DataFrame([m.body for m in msgs], columns=FEATURES)
    for msg, label in zip(msgs, model.predict(frame)):
        sdk.action("predicted", n=msg.body["n"], label=int(label))
"""

LATENCY = """
import time
def on_message(msg):
    sdk.action("seen", n=msg.body["n"], t=msg.body["t"])
"""


class Bench:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def processor(self, name: str, handler: str, n: int, **options: Any) -> tuple[str, float]:
        """Pre-load n messages, deploy the handler, time the drain; return (id, seconds)."""
        queue = f"bench-{name}-{uuid.uuid4().hex[:6]}"
        publish(queue, n)
        stream = {"name": queue, "type": "amqp", "uri": BROKER, "queue": queue}
        assert self.http.post("/streams", json=stream).status_code == 201
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("from suricate import sdk\n" + handler)]
        body = {"name": queue, "kind": "processing", "notebook": json.loads(nbformat.writes(nb))}
        nb_id = self.http.post("/notebooks", json=body).json()["id"]
        pid = self.http.post(
            "/processors", json={"notebook_id": nb_id, "stream": queue, **options}
        ).json()["id"]
        start = None
        while True:
            proc = self.http.get(f"/processors/{pid}").json()
            assert proc["status"] in ("starting", "running"), proc
            if start is None and (proc["status"] == "running" or proc["received"]):
                start = time.perf_counter()
            if proc["processed"] >= n:
                elapsed = time.perf_counter() - (start or 0)
                break
            # The poll itself costs the server CPU: not too often once it runs, but often
            # before, so that the start is seen within 20 ms of the processor's (the plain
            # consumer's clock starts with its first message).
            time.sleep(0.1 if start is not None else 0.02)
        self.http.delete(f"/processors/{pid}")
        purge(queue)
        return pid, elapsed

    def latency(self, n: int, rate: float) -> list[float]:
        queue = f"bench-latency-{uuid.uuid4().hex[:6]}"
        stream = {"name": queue, "type": "amqp", "uri": BROKER, "queue": queue}
        self.http.post("/streams", json=stream)
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("from suricate import sdk\n" + LATENCY)]
        body = {"name": queue, "kind": "processing", "notebook": json.loads(nbformat.writes(nb))}
        nb_id = self.http.post("/notebooks", json=body).json()["id"]
        pid = self.http.post(
            "/processors",
            json={"notebook_id": nb_id, "stream": queue, "batch_wait_ms": 0},
        ).json()["id"]
        while self.http.get(f"/processors/{pid}").json()["status"] != "running":
            time.sleep(0.05)
        latencies: list[float] = []
        ready = threading.Event()

        def listen() -> None:
            with self.http.stream(
                "GET", "/actions/feed", params={"processor": pid}, timeout=None
            ) as events:
                for line in events.iter_lines():
                    if line.startswith(": connected"):
                        ready.set()
                    if line.startswith("data: "):
                        action = json.loads(line[6:])
                        latencies.append(time.time() - action["data"]["t"])
                        if len(latencies) >= n:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        ready.wait(10)
        publish(queue, n, stamp=True, rate=rate)
        listener.join(60)
        self.http.delete(f"/processors/{pid}")
        purge(queue)
        return latencies


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    small = max(n // 10, 1000)  # per-message predict is slow: fewer messages
    fitted = model()
    buffer = io.BytesIO()
    joblib.dump(fitted, buffer)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores")

    def nothing(body: dict[str, Any]) -> None:
        return None

    def predict_one(body: dict[str, Any]) -> None:
        fitted.predict(pd.DataFrame([body], columns=FEATURES))

    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results: dict[str, tuple[int, float]] = {}

    def keep(what: str, count: int, seconds: float) -> None:
        best = results.get(what)
        if best is None or seconds < best[1]:
            results[what] = (count, seconds)

    def plain(count: int, work: Any) -> float:
        queue = f"bench-plain-{uuid.uuid4().hex[:6]}"
        publish(queue, count)
        try:
            return asyncio.run(plain_consumer(queue, count, work))
        finally:
            purge(queue)

    # The broker is on loopback, which the outbound guard refuses unless allowed.
    with serve(
        SURICATE_KERNEL_POOL_SIZE="1", SURICATE_OUTBOUND_ALLOWED_HOSTS="127.0.0.1"
    ) as served:
        http = httpx.Client(
            base_url=f"{served.url}/api/v1",
            headers={"Authorization": f"Bearer {served.token}"},
            timeout=120,
        )
        http.put(
            "/objects/model.joblib",
            content=buffer.getvalue(),
            headers={"Content-Type": "application/vnd.suricate.joblib"},
        )
        bench = Bench(http)
        for _ in range(repeat):
            keep("plain, trivial", n, plain(n, nothing))
            keep("plain, predict per message", small, plain(small, predict_one))
            keep("processor, trivial on_message", n, bench.processor("trivial", TRIVIAL, n)[1])
            keep(
                "processor, an action per message",
                n,
                bench.processor("actions", ACTION_EACH, n)[1],
            )
            keep(
                "processor, predict per message",
                small,
                bench.processor("one", PER_MESSAGE, small)[1],
            )
            keep(
                "processor, predict per batch of 100",
                n,
                bench.processor("batch", PER_BATCH, n, batch_size=100)[1],
            )
        latencies = bench.latency(1000, rate=200)

    rate = {k: count / secs for k, (count, secs) in results.items()}
    print(f"\n{'what':45} {'messages':>9} {'seconds':>8} {'msg/s':>9}")
    for k, (count, secs) in results.items():
        print(f"{k:45} {count:>9} {secs:>8.2f} {rate[k]:>9.0f}")
    trivial = rate["plain, trivial"] / rate["processor, trivial on_message"]
    per_msg = rate["processor, predict per batch of 100"] / rate["plain, predict per message"]
    one = rate["plain, predict per message"] / rate["processor, predict per message"]
    print(f"\ntrivial handler: the plain consumer is {trivial:.2f}x the processor (aim: <= 1.5x)")
    print(f"predict per message: the plain consumer is {one:.2f}x the processor")
    print(f"predict in batches of 100: {per_msg:.1f}x the plain per-message consumer (aim: 5x)")
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"publish -> action visible on the feed, {len(latencies)} messages at 200/s: "
            f"median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
