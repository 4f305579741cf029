"""A session as a frontend holds it: its row's fields, and what lives in memory only (its pages,
its kernel's state as its node last said, when its row was last read and written)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Session:
    id: str
    tenant_id: int
    tenant: str
    user: str
    notebook_id: str | None
    node: str
    token_ref: str
    created_at: datetime
    kind: str = "interactive"  # or "run": a run's kernel
    last_activity: float = field(default_factory=time.monotonic)
    execution_state: str = "idle"
    # No cell runs, yet the kernel's processes use CPU (as its node last said).
    cpu_busy: bool = False
    cpu_seconds: float | None = None
    cpu_cores: float | None = None  # cores its tree used lately, as its node last said
    memory_bytes: int | None = None  # resident memory of its tree, as its node last said
    listeners: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)
    run_id: str | None = None  # the run the session was started for
    notebook_revision: int | None = None  # the revision a run runs
    viewers: int = 0  # pages showing the session now (the editor's WebSocket)
    detached_at: float | None = None  # when the last page showing it closed
    # Sends an event to the other frontends' pages (set by the service).
    fanout: Callable[[str, dict[str, Any]], None] | None = field(default=None, repr=False)
    read_at: float = field(default_factory=time.monotonic)  # when its row was last read
    touched_at: float = 0.0  # when this frontend last wrote its activity to its row

    def attach(self, listener: asyncio.Queue[dict[str, Any]]) -> None:
        """A page shows the session: it hears its events, and the session is not detached."""
        self.listeners.add(listener)
        self.viewers += 1
        self.detached_at = None

    def detach(self, listener: asyncio.Queue[dict[str, Any]]) -> None:
        """A page showing the session closed; the last one starts the grace time."""
        self.listeners.discard(listener)
        self.viewers = max(0, self.viewers - 1)
        if self.viewers == 0:
            self.detached_at = time.monotonic()

    @property
    def state(self) -> str:
        """idle, or busy while a cell runs or the kernel keeps using CPU after one."""
        return "busy" if self.execution_state == "busy" or self.cpu_busy else "idle"

    def idle_s(self, now: float | None = None) -> float:
        """Seconds since the session last ran code or its kernel used CPU (0 while busy)."""
        if self.state == "busy":
            return 0.0
        return max(0.0, (now or time.monotonic()) - self.last_activity)

    def publish(self, event: dict[str, Any]) -> None:
        """Tell the pages showing the session, on this frontend and on the others."""
        self.deliver(event)
        if self.fanout is not None:
            self.fanout(self.id, event)

    def deliver(self, event: dict[str, Any]) -> None:
        """Tell this frontend's pages showing the session."""
        for listener in list(self.listeners):
            with contextlib.suppress(asyncio.QueueFull):
                listener.put_nowait(event)
