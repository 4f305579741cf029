"""Threads of their own for work beside a request, bounded: a hostile tenant's thousand
requests start no thousand threads."""

from __future__ import annotations

import threading
from collections.abc import Callable


def start_spare(
    slots: threading.BoundedSemaphore, target: Callable[[], None], name: str
) -> threading.Thread | None:
    """Run ``target`` in a daemon thread if ``slots`` has one free (given back when it ends);
    None when none is free or none can be started (a pids limit): the caller does the work."""
    if not slots.acquire(blocking=False):
        return None

    def run() -> None:
        try:
            target()
        finally:
            slots.release()

    thread = threading.Thread(target=run, name=name, daemon=True)
    try:
        thread.start()
    except RuntimeError:
        slots.release()
        return None
    return thread
