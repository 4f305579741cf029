"""What every stream source shares: taking a chunk from what the broker delivered."""

from __future__ import annotations

import asyncio

from suricate.node.sources.base import Delivery, gather


def test_a_backlog_is_taken_past_fill_without_waiting_for_more() -> None:
    async def take(buffered: int, fill: int | None) -> list[str]:
        buffer: asyncio.Queue[str] = asyncio.Queue()
        for i in range(buffered):
            buffer.put_nowait(str(i))
        # A wait of an hour: were it waited for, the test would fail by the timeout.
        taking = gather(buffer, 10, 3600, lambda i: Delivery(i, b""), fill)
        found = await asyncio.wait_for(taking, 60)
        return [d.id for d in found]

    assert asyncio.run(take(7, 3)) == [str(i) for i in range(7)]
    assert asyncio.run(take(12, 3)) == [str(i) for i in range(10)]
