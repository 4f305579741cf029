"""A processor instance on an execution node: a kernel bound to a stream.

The runner runs the notebook's cells once (the setup: imports, ``sdk.load`` of models, the
handler definitions), then loops: take a chunk of messages from the source, have the kernel's
handlers process it in one call, report what happened, and settle the messages. A message is
acknowledged only after its handler returned, or after it was dead-lettered, and only once the
report carrying its actions or its dead letter has been handed over: nothing is lost when the
node dies, at the price of a message now and then handled twice (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from suricate.errors import KernelDied, SetupFailed, StreamError
from suricate.kernel.handler import CHUNK_MIME, pack_chunk
from suricate.node.kernels import Kernel
from suricate.node.sources import Delivery, Source
from suricate.wire.bus import ReportHook
from suricate.wire.messages import (
    ActionRecord,
    AppendRecord,
    DeadLetterRecord,
    KernelError,
    MetricTally,
    ProcessorReport,
    ShadowTally,
    StartProcessor,
    StreamMessage,
)

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 2.0
REPORT_EVERY = 0.25  # counters reach the frontend this fresh while messages flow
SAMPLES_PER_REPORT = 5
MESSAGE_CHUNK = 500  # messages per kernel call when the notebook has no on_batch
MESSAGE_WAIT = 0.005  # seconds to let a chunk fill: fewer, fuller kernel calls under load
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Effects:
    """What a chunk's handlers did besides handling: actions recorded, rows appended."""

    actions: list[ActionRecord] = field(default_factory=list)
    appends: list[AppendRecord] = field(default_factory=list)
    metrics: list[MetricTally] = field(default_factory=list)
    shadow: list[ShadowTally] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.actions or self.appends or self.metrics or self.shadow)


@dataclass(frozen=True)
class Failure:
    """Why a handler failed on one message."""

    error: str
    traceback: str = ""


def prefetch(batch_size: int) -> int:
    """How many unacknowledged messages a processor may hold from an AMQP broker: four of its
    largest chunks (one in the kernel, one reported and acknowledged meanwhile, two waiting),
    so that a backlog keeps the kernel busy."""
    return 4 * max(batch_size, MESSAGE_CHUNK)


def plain(lines: list[str]) -> str:
    """A traceback as plain text (IPython colours it)."""
    return _ANSI.sub("", "\n".join(lines))


class ProcessorRunner:
    def __init__(
        self,
        command: StartProcessor,
        node_id: str,
        new_kernel: Callable[[], Awaitable[Kernel]],
        source: Source,
        report: ReportHook,
        exec_timeout: float,
    ) -> None:
        self.command = command
        self.node_id = node_id
        self.new_kernel = new_kernel
        self.source = source
        self.report_hook = report
        self.exec_timeout = exec_timeout
        self.stream_name = command.stream.name
        self.kernel: Kernel | None = None
        self._batching = False  # the notebook defines on_batch
        self._retry: deque[Delivery] = deque()
        self._injected: deque[Delivery] = deque()
        self._wake = asyncio.Event()
        self._take: asyncio.Task[list[Delivery]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._counts = dict.fromkeys(
            ("received", "processed", "failed", "dead_lettered", "redelivered"), 0
        )
        self._logs: list[str] = []
        self._samples: deque[StreamMessage] = deque(maxlen=SAMPLES_PER_REPORT)
        self._done: deque[tuple[float, int]] = deque()
        self._processed_total = 0
        self._latency: float | None = None
        self._last_report = 0.0
        self._lag: int | None = None

    # Life cycle

    async def start(self) -> None:
        """Start the kernel, run the notebook's cells, connect; raise on any failure."""
        try:
            self.kernel = await self.new_kernel()
            await self._setup(self.kernel)
            await self.source.start()
        except BaseException:
            await self._teardown()
            raise
        self._tasks = [
            asyncio.create_task(self._loop()),
            asyncio.create_task(self._heartbeat()),
        ]

    async def _setup(self, kernel: Kernel) -> None:
        for index, code in enumerate(self.command.cells):
            if not code.strip():
                continue
            result = await kernel.execute(code, timeout=self.exec_timeout)
            self._keep_logs(result.outputs)
            if result.status != "ok":
                raise SetupFailed(
                    result.ename or "Error",
                    result.evalue or "",
                    traceback=plain(result.traceback),
                    cell=index,
                )
        shadow = self.command.shadow
        result = await kernel.execute(
            "from suricate.kernel.handler import check_handlers, configure_shadow,"
            " run_chunk_file as _suricate_chunk\n"
            + (f"configure_shadow({shadow.model!r}, {shadow.alias!r})\n" if shadow else "")
            + "check_handlers(); del check_handlers, configure_shadow",
            store_history=False,
        )
        self._keep_logs(result.outputs)
        if result.status != "ok":
            raise SetupFailed(result.ename or "Error", result.evalue or "")
        found: dict[str, bool] = next(
            (o["data"][CHUNK_MIME] for o in result.outputs if CHUNK_MIME in o.get("data", {})),
            {},
        )
        self._batching = bool(found.get("on_batch"))

    async def stop(self, status: str = "stopped") -> None:
        """Stop handling messages; what was taken and not settled is released."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []
        if self._take is not None:
            self._take.cancel()
        with contextlib.suppress(Exception):
            await self.source.release(list(self._retry))
            await asyncio.wait_for(self._flush(status=status), 10)
        await self._teardown()

    async def _teardown(self) -> None:
        with contextlib.suppress(Exception):
            await self.source.close()
        if self.kernel is not None:
            await self.kernel.shutdown()

    def inject(self, deliveries: list[Delivery]) -> None:
        """Handle these messages next (dead letters replayed, messages published to a replay)."""
        self._injected.extend(deliveries)
        self._wake.set()

    # The loop

    async def _loop(self) -> None:
        # A chunk's report and acks go on while the kernel handles the next chunk.
        finishing: asyncio.Task[None] | None = None
        try:
            while True:
                chunk = await self._next_chunk()
                if not chunk:
                    continue
                outcome = await self._process(chunk)
                if finishing is not None:
                    await finishing
                finishing = asyncio.create_task(self._finish(*outcome))
        except asyncio.CancelledError:
            if finishing is not None and not finishing.done():
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(asyncio.shield(finishing), 10)
            raise
        except StreamError as exc:
            await self._fail(KernelError("StreamError", exc.message))
        except Exception as exc:
            log.exception("processor %s stopped", self.command.processor_id)
            await self._fail(KernelError(type(exc).__name__, str(exc)))

    async def _fail(self, error: KernelError) -> None:
        with contextlib.suppress(Exception):
            await self._flush(status="failed", error=error)

    async def _next_chunk(self) -> list[Delivery]:
        # on_batch gets batch_size messages at most, waiting batch_wait_ms for them; a backlog
        # goes to the kernel several batches at a time. on_message ones go in bigger chunks, taken
        # as they come. Each chunk is one kernel round trip.
        size = fill = self.command.batch_size
        wait = self.command.batch_wait_ms / 1000
        if self._batching:
            size = max(1, MESSAGE_CHUNK // fill) * fill
        else:
            size = fill = max(size, MESSAGE_CHUNK)
            wait = MESSAGE_WAIT
        if self._retry:
            return [self._retry.popleft()]  # alone, so that a poison message fails alone
        if self._injected:
            return [self._injected.popleft() for _ in range(min(size, len(self._injected)))]
        if self._take is None:
            self._take = asyncio.create_task(self.source.take(size, wait, fill))
        self._wake.clear()
        wake = asyncio.create_task(self._wake.wait())
        try:
            done, _ = await asyncio.wait({self._take, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
        if self._take in done:
            take, self._take = self._take, None
            return take.result()
        return []

    async def _process(self, chunk: list[Delivery]) -> tuple[Any, ...]:
        """Have the kernel handle a chunk; sort out what succeeded, is retried or is dead."""
        fresh = [d for d in chunk if d.attempts == 0 and d.dead_letter_id is None]
        self._counts["received"] += len(fresh)
        self._counts["redelivered"] += sum(1 for d in fresh if d.redelivered)
        stamps = [d.timestamp for d in fresh if d.timestamp]
        failures, effects = await self._run_in_kernel(chunk)
        now = time.time()
        if stamps:
            self._latency = statistics.median(now - s for s in stamps) * 1000
        ok = [d for i, d in enumerate(chunk) if i not in failures] if failures else chunk
        dead: list[Delivery] = []
        dead_letters: list[DeadLetterRecord] = []
        for index, failure in sorted(failures.items()):
            delivery = chunk[index]
            self._counts["failed"] += 1
            delivery.attempts += 1
            if delivery.attempts <= self.command.max_retries:
                self._retry.append(delivery)
                continue
            dead.append(delivery)
            dead_letters.append(self._dead_letter(delivery, failure))
        self._counts["processed"] += len(ok)
        self._counts["dead_lettered"] += len(dead)
        self._processed_total += len(ok)
        self._done.append((time.monotonic(), self._processed_total))
        for d in fresh[-SAMPLES_PER_REPORT:]:
            self._samples.append(d.message(self.stream_name))
        replayed = [d.dead_letter_id for d in ok if d.dead_letter_id is not None]
        return ok + dead, effects, dead_letters, replayed

    async def _finish(
        self,
        settled: list[Delivery],
        effects: Effects,
        dead_letters: list[DeadLetterRecord],
        replayed: list[str],
    ) -> None:
        """Report what a chunk did, then settle its messages."""
        if self.source.local_ack:
            # A replay's position is kept by the frontend: the report itself commits it.
            await self.source.ack(settled)
        durable = bool(effects or dead_letters or replayed)
        if durable or time.monotonic() - self._last_report > REPORT_EVERY:
            await self._flush(effects=effects, dead_letters=dead_letters, replayed=replayed)
        if not self.source.local_ack:
            # Settled only now: their actions and dead letters are safe with the frontend.
            await self.source.ack(settled)

    async def _run_in_kernel(self, chunk: list[Delivery]) -> tuple[dict[int, Failure], Effects]:
        """Run the chunk through the handlers: the failures by index in the chunk, and what the
        handlers did. A chunk-wide failure fails every message."""
        assert self.kernel is not None
        # A message alone (a retry) goes to on_message when the notebook has one.
        batch = self.command.batch_size if len(chunk) > 1 else 0
        payload = pack_chunk(
            self.stream_name,
            batch,
            [(d.id, d.body, d.headers, d.redelivered or d.attempts > 0) for d in chunk],
        )
        # Handed over as a file in the kernel's own runtime dir (bound into its sandbox).
        path = self.kernel.hand_over("chunk", payload)
        try:
            result = await self.kernel.execute(
                f"_suricate_chunk({str(path)!r})", timeout=self.exec_timeout, store_history=False
            )
        except KernelDied as died:
            log.warning("processor %s lost its kernel: %s", self.command.processor_id, died)
            await self.kernel.shutdown()
            self.kernel = await self.new_kernel()
            await self._setup(self.kernel)
            died_of = Failure(f"KernelDied: {died}", str(died))
            return dict.fromkeys(range(len(chunk)), died_of), Effects()
        out = None
        for output in result.outputs:
            data = output.get("data", {})
            if CHUNK_MIME in data:
                out = data[CHUNK_MIME]
            elif output.get("output_type") == "stream":
                self._keep_logs([output])
        if result.status != "ok" or out is None:
            failed = Failure(f"{result.ename}: {result.evalue}", plain(result.traceback))
            return dict.fromkeys(range(len(chunk)), failed), Effects()
        return _chunk_outcome(out, len(chunk))

    def _dead_letter(self, delivery: Delivery, failure: Failure) -> DeadLetterRecord:
        return DeadLetterRecord(
            message=delivery.message(self.stream_name),
            error=failure.error,
            traceback=failure.traceback,
            attempts=delivery.attempts,
            revision=self.command.revision,
            id=delivery.dead_letter_id,
        )

    def _keep_logs(self, outputs: list[dict[str, Any]]) -> None:
        for output in outputs:
            if output.get("output_type") == "stream":
                self._logs.extend(str(output.get("text", "")).splitlines()[-50:])
        del self._logs[:-50]

    # Reports

    async def _heartbeat(self) -> None:
        # Counters that moved go out within REPORT_EVERY also when the stream has gone quiet
        # (a chunk's report is skipped when the last one went out less than REPORT_EVERY
        # before); a report goes out every HEARTBEAT_SECONDS anyway.
        lag_asked = 0.0
        while True:
            await asyncio.sleep(REPORT_EVERY)
            if time.monotonic() - lag_asked >= HEARTBEAT_SECONDS / 2:
                lag_asked = time.monotonic()
                with contextlib.suppress(Exception):
                    self._lag = await self.source.lag()
            since = time.monotonic() - self._last_report
            moved = any(self._counts.values())
            if since >= HEARTBEAT_SECONDS or (moved and since >= REPORT_EVERY):
                try:
                    await self._flush()
                except Exception:
                    log.warning("processor %s: report failed", self.command.processor_id)

    def _rate(self) -> float:
        now = time.monotonic()
        while self._done and now - self._done[0][0] > 10:
            self._done.popleft()
        if len(self._done) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._done[0], self._done[-1]
        span = max(now - t0, 1.0) if now - t1 > 1 else max(t1 - t0, 1e-3)
        return round((n1 - n0) / span, 1)

    async def _flush(
        self,
        effects: Effects | None = None,
        dead_letters: list[DeadLetterRecord] | None = None,
        replayed: list[str] | None = None,
        status: str = "running",
        error: KernelError | None = None,
    ) -> None:
        """Send a report of what happened since the last; retried until it is taken."""
        async with self._lock:
            counts, self._counts = self._counts, dict.fromkeys(self._counts, 0)
            logs, self._logs = self._logs, []
            samples = list(self._samples)
            self._samples.clear()
            report = ProcessorReport(
                processor_id=self.command.processor_id,
                node=self.node_id,
                instance=self.command.instance,
                status=status,
                error=error,
                actions=effects.actions if effects else [],
                appends=effects.appends if effects else [],
                metrics=effects.metrics if effects else [],
                shadow=effects.shadow if effects else [],
                dead_letters=dead_letters or [],
                replayed=replayed or [],
                samples=samples,
                logs=logs,
                position=self.source.position,
                rate=self._rate(),
                lag=self._lag,
                latency_ms=round(self._latency, 2) if self._latency is not None else None,
                **counts,
            )
            delay = 0.5
            while True:
                try:
                    await self.report_hook(report)
                    break
                except Exception as exc:
                    log.warning(
                        "report of processor %s not taken (%s: %s); retrying",
                        report.processor_id,
                        type(exc).__name__,
                        exc,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
            self._last_report = time.monotonic()


def _chunk_outcome(out: Any, n: int) -> tuple[dict[int, Failure], Effects]:
    """Read what the kernel's handler runtime answered for a chunk of ``n`` messages: the
    failures by index, and the effects."""
    if not isinstance(out, dict):
        broken = Failure("the handler runtime answered something unreadable")
        return dict.fromkeys(range(n), broken), Effects()
    actions = _actions(out.get("actions"))
    found = out.get("failures")
    failures: dict[int, Failure] = {}
    for key, failed in found.items() if isinstance(found, dict) else ():
        index = int(key) if isinstance(key, str) and key.isdigit() else -1
        if 0 <= index < n and isinstance(failed, dict):
            failures[index] = Failure(
                str(failed.get("error", "")), str(failed.get("traceback", ""))
            )
    appends = [
        AppendRecord(str(a.get("name", "")), list(a.get("records") or []), a.get("key"))
        for a in out.get("appends", [])
        if isinstance(a, dict) and isinstance(a.get("records"), list)
    ]
    stamp = _versions(out.get("models"))
    metrics = [
        MetricTally(name, total, count, stamp)
        for name, (total, count) in _metrics(out.get("metrics")).items()
    ]
    return failures, Effects(actions, appends, metrics, _shadow(out.get("shadow")))


def _actions(found: Any) -> list[ActionRecord]:
    """The actions a chunk's handlers recorded, as the kernel answered them."""
    actions: list[ActionRecord] = []
    for a in found if isinstance(found, list) else []:
        if isinstance(a, dict):
            data, at = a.get("data"), a.get("at")
            actions.append(
                ActionRecord(
                    str(a.get("text", "")),
                    data if isinstance(data, dict) else {},
                    float(at) if isinstance(at, int | float) else None,
                    _versions(a.get("models")),
                )
            )
    return actions


def _versions(found: Any) -> dict[str, int]:
    """Model versions by name (what the kernel answered, only the well-formed pairs)."""
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, int)}


def _metrics(found: Any) -> dict[str, tuple[float, int]]:
    """Metric sums and counts by name (what the kernel answered, only the well-formed ones)."""
    if not isinstance(found, dict):
        return {}
    return {
        str(name): (float(pair[0]), int(pair[1]))
        for name, pair in found.items()
        if isinstance(pair, list)
        and len(pair) == 2
        and all(isinstance(x, int | float) for x in pair)
    }


def _shadow(found: Any) -> list[ShadowTally]:
    """How the challenger did on the chunk, when one ran in shadow."""
    if not isinstance(found, dict):
        return []
    try:
        metrics = found.get("metrics") or {}
        return [
            ShadowTally(
                model=str(found["model"]),
                champion=int(found["champion"]),
                challenger=int(found["challenger"]),
                compared=int(found.get("compared", 0)),
                agreed=int(found.get("agreed", 0)),
                failed=int(found.get("failed", 0)),
                champion_metrics=_metrics(metrics.get("champion")),
                challenger_metrics=_metrics(metrics.get("challenger")),
                actions=_actions(found.get("actions")),
            )
        ]
    except (KeyError, TypeError, ValueError):
        return []
