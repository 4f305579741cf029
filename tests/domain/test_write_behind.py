"""WriteBehind: batches written in order by a thread of their own, failures brought back."""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import pytest

from suricate.domain.write_behind import WriteBehind


def test_batches_are_written_in_order_and_close_waits_for_them() -> None:
    written: list[int] = []
    threads: set[str] = set()

    def write(batch: int) -> None:
        threads.add(threading.current_thread().name)
        written.append(batch)

    async def main() -> None:
        behind: WriteBehind[int] = WriteBehind(write, "test-writer")
        assert not behind.started
        for i in range(100):
            await behind.put(i)
        await behind.close()

    anyio.run(main)
    assert written == list(range(100))
    assert threads == {"test-writer"}


def test_no_more_than_depth_batches_wait() -> None:
    release = threading.Event()
    waiting: list[int] = []

    def write(batch: int) -> None:
        release.wait(10)

    async def main() -> None:
        behind: WriteBehind[int] = WriteBehind(write)
        with anyio.move_on_after(0.5):
            for i in range(WriteBehind.DEPTH + 5):
                await behind.put(i)
                waiting.append(i)
        release.set()
        with anyio.CancelScope(shield=True):
            await behind.stop()

    anyio.run(main)
    assert len(waiting) == WriteBehind.DEPTH  # the next put waited for room


def test_a_failed_write_comes_back_from_put_or_close_and_stops_the_writes() -> None:
    written: list[int] = []

    def write(batch: int) -> None:
        if batch == 3:
            raise OSError(28, "No space left on device")
        written.append(batch)

    async def put_all() -> None:
        behind: WriteBehind[int] = WriteBehind(write)
        try:
            for i in range(50):
                await behind.put(i)
        except OSError:
            await behind.stop()  # never raises
            raise
        await behind.close()

    with pytest.raises(OSError, match="No space left"):
        anyio.run(put_all)
    assert written == [0, 1, 2]

    async def close_only() -> None:
        behind: WriteBehind[int] = WriteBehind(write)
        await behind.put(3)
        await behind.close()

    with pytest.raises(OSError, match="No space left"):
        anyio.run(close_only)


def test_past_the_thread_limit_streams_write_through_hops_in_order() -> None:
    """A thousand slow uploads start no thousand threads: past THREADS, a stream's batches
    are written by the worker threads, one hop each."""
    from suricate.domain import write_behind

    release = threading.Event()
    streams = write_behind.MAX_THREADS + 3
    written: dict[int, list[int]] = {i: [] for i in range(streams)}
    blocked = threading.Semaphore(0)

    def writer(stream: int) -> Any:
        def write(batch: int) -> None:
            if batch == 0 and stream < streams - 3:
                blocked.release()
                release.wait(10)  # the first streams hold their threads
            written[stream].append(batch)

        return write

    async def main() -> None:
        behinds = [WriteBehind(writer(i), "test-limit") for i in range(streams)]
        async with anyio.create_task_group() as tasks:
            for behind in behinds[:-3]:
                tasks.start_soon(behind.put, 0)
            for _ in behinds[:-3]:
                await anyio.to_thread.run_sync(blocked.acquire)
            alive = [t for t in threading.enumerate() if t.name == "test-limit"]
            assert len(alive) == streams - 3
            for behind in behinds[-3:]:  # no thread free: hops, in order
                for i in range(5):
                    await behind.put(i)
                assert not behind.started
                await behind.close()
            release.set()
        for behind in behinds:
            await behind.close()

    anyio.run(main)
    assert all(written[i] == list(range(5)) for i in range(streams - 3, streams))
    assert write_behind.THREADS.acquire(blocking=False)  # every slot was given back
    write_behind.THREADS.release()


def test_stop_after_a_cancelled_close_waits_for_the_write_under_way() -> None:
    """The upload discards its writer once stop returns: no write may still be running."""
    finished = threading.Event()

    def write(batch: int) -> None:
        time.sleep(0.3)
        finished.set()

    async def main() -> None:
        behind: WriteBehind[int] = WriteBehind(write)
        await behind.put(1)
        with anyio.move_on_after(0.05):
            await behind.close()
        assert not finished.is_set()  # close was cancelled before the write ended
        with anyio.CancelScope(shield=True):
            await behind.stop()
        assert finished.is_set()

    anyio.run(main)
