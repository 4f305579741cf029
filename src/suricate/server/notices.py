"""Server-wide notices every signed-in user sees, such as the demo's set-up progress."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    """One notice: a line of text, and how far along when it tells of progress."""

    id: str
    text: str
    done: int | None = None
    total: int | None = None


class Notices:
    """The notices of this server process; set from any thread (the demo's set-up is one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Notice] = {}

    def set(self, id: str, text: str, done: int | None = None, total: int | None = None) -> None:
        """Show (or update) a notice."""
        with self._lock:
            self._items[id] = Notice(id, text, done, total)

    def clear(self, id: str) -> None:
        """Stop showing a notice."""
        with self._lock:
            self._items.pop(id, None)

    def items(self) -> list[Notice]:
        """The notices shown now, oldest first."""
        with self._lock:
            return list(self._items.values())
