"""Cursor pagination shared by every list: ``{"items": [...], "next": cursor-or-null}``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from suricate.errors import InvalidCursor

T = TypeVar("T")
Q = TypeVar("Q")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None


def encode_cursor(key: Any) -> str:
    """Turn the sort key of the last item shown into an opaque cursor."""
    data = {"t": key.isoformat()} if isinstance(key, datetime) else {"k": key}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """Return the sort key a cursor carries, or raise InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        return datetime.fromisoformat(data["t"]) if "t" in data else data["k"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor(cursor) from exc


def clamp_limit(limit: int | None) -> int:
    """Keep a requested page size between 1 and MAX_LIMIT."""
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(int(limit), MAX_LIMIT))


def keyset(
    query: Q, column: Any, cursor: str | None, limit: int | None, descending: bool = False
) -> tuple[Q, int]:
    """Order a select by ``column``, start after the cursor's key, and fetch one row extra."""
    select: Any = query
    limit = clamp_limit(limit)
    if cursor:
        key = decode_cursor(cursor)
        if not isinstance(key, column.type.python_type):
            raise InvalidCursor(cursor)
        select = select.where(column < key if descending else column > key)
    order = column.desc() if descending else column
    return select.order_by(order).limit(limit + 1), limit


def page_of(items: list[T], limit: int, key: Callable[[T], Any]) -> Page[T]:
    """Cut the extra row ``keyset`` fetched; its presence means there is a next page."""
    shown = items[:limit]
    return Page(shown, encode_cursor(key(shown[-1])) if len(items) > limit else None)
