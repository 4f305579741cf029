"""Replay streams: a stored object's records handed out at a chosen rate, no broker needed."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from suricate.node.sources.base import Delivery
from suricate.wire.streams import StreamSpec

log = logging.getLogger(__name__)


class ReplaySource:
    """Hand out a stored object's records as messages at ``rate`` per second.

    ``position`` is the index of the first record not yet settled; a processor restarted from
    it sees every record at least once.
    """

    def __init__(
        self,
        spec: StreamSpec,
        load: Callable[[], Awaitable[list[Any]]],
        position: int,
    ) -> None:
        self.spec = spec
        self.rate = float(spec.rate or 10.0)
        self.loop = bool(spec.loop)
        self._load = load
        self._start = position
        self._next = position
        self.position: int | None = position
        self.local_ack = True
        self._unsettled: set[int] = set()
        self._again: deque[int] = deque()
        self._records: list[Any] = []

    async def start(self) -> None:
        self._records = await self._load()
        if self.loop and self._records:
            self._start %= len(self._records)
            self._next = self._start
            self.position = self._start
        self._t0 = time.monotonic()

    def _exhausted(self) -> bool:
        return not self._records or (not self.loop and self._next >= len(self._records))

    def _delivery(self, index: int, again: bool) -> Delivery:
        record = self._records[index % len(self._records)]
        self._unsettled.add(index)
        return Delivery(
            id=str(index),
            body=json.dumps(record).encode(),
            headers={"position": index},
            redelivered=again,
            timestamp=time.time(),
            handle=index,
        )

    def _due(self) -> int:
        """Index past the last record due by now: the first at once, then ``rate`` a second."""
        due = self._start + 1 + int((time.monotonic() - self._t0) * self.rate)
        return due if self.loop else min(due, len(self._records))

    async def take(self, max_n: int, wait_s: float, fill: int | None = None) -> list[Delivery]:
        fill = min(fill or max_n, max_n)
        while True:
            out: list[Delivery] = []
            while self._again and len(out) < max_n:
                out.append(self._delivery(self._again.popleft(), True))
            if out:
                return out
            if self._exhausted():
                await asyncio.Event().wait()  # nothing more, ever: wait to be stopped
            count = min(max_n, self._due() - self._next)
            if count > 0:
                if count < fill and wait_s > 0:
                    # Micro-batching: wait a little for more to fall due.
                    await asyncio.sleep(min(wait_s, (fill - count) / self.rate))
                    count = min(max_n, self._due() - self._next)
                out = [self._delivery(self._next + i, False) for i in range(count)]
                self._next += count
                return out
            wake = self._t0 + (self._next - self._start) / self.rate  # when the next falls due
            await asyncio.sleep(max(0.0, wake - time.monotonic()))

    def _settle(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            if isinstance(d.handle, int):
                self._unsettled.discard(d.handle)
        self.position = min(self._unsettled) if self._unsettled else self._next
        self._again = deque(i for i in self._again if i in self._unsettled)

    async def ack(self, deliveries: list[Delivery]) -> None:
        self._settle(deliveries)

    async def release(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            if isinstance(d.handle, int):
                self._again.append(d.handle)

    async def lag(self) -> int | None:
        """Records due by now (at the rate) but not handled yet."""
        due = self._start + int((time.monotonic() - self._t0) * self.rate)
        if not self.loop:
            due = min(due, len(self._records))
        return max(0, due - (self.position or 0))

    async def close(self) -> None:
        return None
