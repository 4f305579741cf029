"""The one way tests wait: poll a condition until it holds or a timeout passes.

    wait_until(lambda: server.staged_files() == [], timeout=5, message="staging emptied")
    run = wait_until(
        lambda: client.get(f"/api/v1/runs/{run_id}").json(),
        until=lambda run: run["status"] not in ("queued", "running"),
        timeout=60,
        message="run never finished",
    )

An exception raised by the condition (an assertion that something went wrong meanwhile) ends
the wait at once and fails the test with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_SHOWN = 2000  # characters of the last value a timeout shows


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.1,
    message: str | Callable[[], str] = "the condition never held",
    *,
    until: Callable[[T], Any] | None = None,
) -> T:
    """Call `predicate` every `interval` seconds until it holds; return its last value.

    It holds when its value is truthy or, given `until`, when `until(value)` is: then `predicate`
    reads something (a record, a page of items) and `until` says when it is the one awaited.
    After `timeout` seconds, raise AssertionError with `message` (a string, or a function
    called then, e.g. to read a log) and the last value seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if until(value) if until is not None else value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            seen = repr(value)
            if len(seen) > _SHOWN:
                seen = seen[:_SHOWN] + "..."
            raise AssertionError(f"{text} (waited {timeout:g} s; last value seen: {seen})")
        time.sleep(interval)
