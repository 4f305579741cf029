"""What the processor service keeps: statuses, live state, and the records it answers with."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from suricate.store.tables import Action, DeadLetter, utcnow
from suricate.wire.messages import (
    KernelError,
    StartProcessor,
)

STARTING, RUNNING, FAILED, STOPPED = "starting", "running", "failed", "stopped"
SUPERVISE_SECONDS = 2.0
# An instance that has not reported for this long is asked whether it still runs.
SILENT_SECONDS = 20.0
HISTORY = 120  # throughput samples kept for the sparkline (one a second at most)
PLACEMENT_TRIES = 4


@dataclass
class _Instance:
    node: str
    last_report: float = field(default_factory=time.monotonic)
    rate: float = 0.0
    lag: int | None = None
    latency_ms: float | None = None


@dataclass
class _Live:
    """What the frontend knows of a processor it runs, beyond its record."""

    tenant_id: int
    tenant: str
    stream_id: str
    token: str | None  # None when adopted after a frontend restart (a new one is issued)
    replicas: int = 1
    instances: dict[int, _Instance] = field(default_factory=dict)
    history: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    logs: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    shadowed: bool = False  # a challenger runs in shadow beside the champion
    judging: bool = False  # its promotion policy is being applied


@dataclass(frozen=True)
class ProcessorInfo:
    id: str
    notebook_id: str
    notebook_revision: int
    stream: str
    status: str
    error: dict[str, Any] | None
    batch_size: int
    batch_wait_ms: int
    max_retries: int
    replicas: int
    received: int
    processed: int
    failed: int
    dead_lettered: int
    redelivered: int
    position: int
    restarts: int
    throughput: float
    lag: int | None
    latency_ms: float | None
    nodes: list[str]
    throughput_history: list[tuple[float, float]]
    logs: list[str]
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    # The challenger in shadow and its policy, how it does, and the handlers' metrics.
    shadow: dict[str, Any] | None = None
    shadow_stats: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ActionInfo:
    id: int
    processor_id: str | None
    text: str
    data: dict[str, Any]
    created_at: datetime
    models: dict[str, int] = field(default_factory=dict)  # the model versions it was made with
    feed: str = "live"  # live, shadow (a challenger's) or backtest (a replay run's)
    run_id: str | None = None


@dataclass(frozen=True)
class DeadLetterInfo:
    id: str
    processor_id: str
    message_id: str
    body: str | None
    body_b64: str | None
    headers: dict[str, Any]
    error: str
    traceback: str
    attempts: int
    notebook_revision: int
    status: str
    created_at: datetime
    replayed_at: datetime | None


def summary(stats: dict[str, Any]) -> dict[str, Any]:
    """The figures as the API shows them: means instead of sums, agreement as a share."""
    if not stats:
        return {}
    compared = stats.get("compared", 0)
    means = {
        side: {n: round(t / c, 6) for n, (t, c) in found.items() if c}
        for side, found in stats.get("metrics", {}).items()
    }
    return {
        "model": stats.get("model"),
        "champion": stats.get("champion"),
        "challenger": stats.get("challenger"),
        "compared": compared,
        "agreed": stats.get("agreed", 0),
        "failed": stats.get("failed", 0),
        "agreement": round(stats.get("agreed", 0) / compared, 4) if compared else None,
        "metrics": means,
        "since": stats.get("since"),
        "pending_run": stats.get("pending_run"),
        "decisions": stats.get("decisions", []),
    }


def _action(row: Action) -> ActionInfo:
    return ActionInfo(
        row.id,
        row.processor_id,
        row.text,
        json.loads(row.data),
        row.created_at,
        json.loads(row.models or "{}"),
        row.feed or "live",
        row.run_id,
    )


def _dead_letter(row: DeadLetter) -> DeadLetterInfo:
    return DeadLetterInfo(
        id=row.id,
        processor_id=row.processor_id,
        message_id=row.message_id,
        body=row.body,
        body_b64=row.body_b64,
        headers=json.loads(row.headers),
        error=row.error,
        traceback=row.traceback,
        attempts=row.attempts,
        notebook_revision=row.notebook_revision,
        status=row.status,
        created_at=row.created_at,
        replayed_at=row.replayed_at,
    )


def _at(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return utcnow()


class _StartFailed(Exception):
    def __init__(self, error: KernelError) -> None:
        super().__init__(error.evalue)
        self.error = error


def error_json(error: KernelError) -> str:
    """A processor's error as its record keeps it: the parts that say something."""
    return json.dumps({k: v for k, v in asdict(error).items() if v not in (None, "")})


def error_of(stored: str) -> KernelError:
    """Read back an error a record keeps."""
    raw = json.loads(stored)
    cell = raw.get("cell")
    return KernelError(
        str(raw.get("ename", "")),
        str(raw.get("evalue", "")),
        str(raw.get("traceback", "")),
        cell if isinstance(cell, int) else None,
    )


def _replace(command: StartProcessor, **changes: Any) -> StartProcessor:
    from dataclasses import replace

    return replace(command, **changes)
