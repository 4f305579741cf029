"""A stored object's records, as a replay stream and a replay backtest hand them out.

Standard library only at import (pandas when the object is CSV or Parquet): the kernel's
backtest runtime reads objects with this module too.
"""

from __future__ import annotations

import io
import json
from typing import Any

from suricate.errors import StreamError

REPLAY_MAX_BYTES = 64 * 1024**2


def records_from(
    data: bytes, name: str, content_type: str | None, max_bytes: int = REPLAY_MAX_BYTES
) -> list[Any]:
    """Read a stored object's records: CSV, JSON lines, a JSON array, or Parquet; at most
    ``max_bytes`` of it unpacked (a gzip bomb stops there)."""
    import gzip
    import zlib

    import pandas as pd

    if len(data) > max_bytes:
        raise _too_big(name, max_bytes)
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unpacking:
                data = unpacking.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise StreamError("bad_object", f"cannot read the records of {name!r}: {exc}") from None
        if len(data) > max_bytes:
            raise _too_big(name, max_bytes)
    lower = name.lower().removesuffix(".gz")
    kind = content_type or ""
    try:
        if lower.endswith(".parquet") or data[:4] == b"PAR1":
            frame = pd.read_parquet(io.BytesIO(data))
        elif lower.endswith((".jsonl", ".ndjson")) or "ndjson" in kind or "jsonl" in kind:
            return [json.loads(line) for line in data.splitlines() if line.strip()]
        elif lower.endswith(".json") or "json" in kind:
            value = json.loads(data)
            return value if isinstance(value, list) else [value]
        else:
            frame = pd.read_csv(io.BytesIO(data))
    except Exception as exc:
        raise StreamError("bad_object", f"cannot read the records of {name!r}: {exc}") from None
    records: list[Any] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return records


def _too_big(name: str, max_bytes: int) -> StreamError:
    return StreamError(
        "bad_object",
        f"{name!r} has more than {max_bytes} bytes unpacked, the most a replay reads "
        "(SURICATE_REPLAY_MAX_BYTES)",
    )
