"""Write behind the event loop: batches handed to a thread of their own, in order, without
waiting for each to be written.

A thread hop per batch (``to_thread.run_sync``) makes the loop wait for a worker to wake, take
the GIL, write and wake the loop again: on a large upload those waits were half of its time.
Here a hand-over only queues the batch; the loop waits only when ``DEPTH`` batches are already
queued (so memory stays flat), and the writer's failure comes back from the next ``put`` or
from ``close``. At most ``THREADS`` streams have a thread of their own at once: the others
write through the worker threads, a hop a batch, so that a thousand slow uploads start no
thousand threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import anyio

from suricate.threads import start_spare

Batch = TypeVar("Batch")
MAX_THREADS = 8  # streams with a thread of their own at once
THREADS = threading.BoundedSemaphore(MAX_THREADS)


class WriteBehind(Generic[Batch]):
    DEPTH = 4  # batches queued at most

    def __init__(self, write: Callable[[Batch], None], name: str = "write-behind") -> None:
        self._write = write
        self._name = name
        self._loop = asyncio.get_running_loop()
        self._batches: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._room = asyncio.Semaphore(self.DEPTH)
        self._ended: asyncio.Future[None] = self._loop.create_future()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._hops = False  # no thread of its own was free: a hop to a worker a batch

    @property
    def started(self) -> bool:
        """Whether a batch was queued (and the thread started)."""
        return self._thread is not None

    def write(self, batch: Batch) -> None:
        """Write ``batch`` here and now, in this thread (for a stream that is one batch)."""
        self._write(batch)

    async def put(self, batch: Batch) -> None:
        """Queue ``batch``; wait only while ``DEPTH`` are queued. Raises a failed write's error."""
        if self._thread is None and not self._start():
            await anyio.to_thread.run_sync(self._write, batch)
            return
        await self._room.acquire()
        if self._failure is not None:
            raise self._failure
        self._batches.put(batch)

    def _start(self) -> bool:
        """Start the thread, if one is free (else this stream hops for good)."""
        if not self._hops:
            self._thread = start_spare(THREADS, self._run, self._name)
            self._hops = self._thread is None
        return not self._hops

    async def close(self) -> None:
        """Wait until every batch queued is written; raise the error of a failed write."""
        await self.stop()
        if self._failure is not None:
            raise self._failure

    async def stop(self) -> None:
        """Wait until the thread is done with what was queued (writes after a failure are
        skipped); never raises. Shield it from cancellation: the writer must not be closed
        under the thread."""
        if self._thread is None:
            return
        self._batches.put(None)
        await asyncio.shield(self._ended)  # a cancelled wait must not cancel the future
        self._thread = None

    def _run(self) -> None:
        failure: BaseException | None = None
        while (batch := self._batches.get()) is not None:
            if failure is None:
                try:
                    self._write(batch)
                except BaseException as exc:  # handed to the loop, raised there
                    failure = exc
            self._to_loop(self._written, failure)
        self._to_loop(self._end)

    def _to_loop(self, callback: Callable[..., None], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self._loop.call_soon_threadsafe(callback, *args)

    def _written(self, failure: BaseException | None) -> None:
        if failure is not None and self._failure is None:
            self._failure = failure
        self._room.release()

    def _end(self) -> None:
        if not self._ended.done():
            self._ended.set_result(None)
