"""Tabular previews of stored objects: CSV/TSV, JSON lines, JSON documents, Parquet, gzip'd or not.

A preview reads only the head of a file (a JSON document is the exception: it must be parsed
whole, up to a size limit); a file that cannot be read gets ``MalformedData`` naming the problem.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from suricate.errors import MalformedData

DEFAULT_ROWS = 20
MAX_ROWS = 1000
# Parse at least this many rows of a text table, so a bad line near the top is found even
# when only a few rows are shown.
_CHECK_ROWS = 1000
_CELL_CHARS = 200
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Preview:
    format: str
    columns: list[str]
    rows: list[list[Any]]
    dtypes: dict[str, str]


def preview(
    f: BinaryIO, name: str, content_type: str, rows: int = DEFAULT_ROWS, max_document_bytes: int = 0
) -> Preview:
    """Return the first ``rows`` rows of a tabular file as columns, rows and dtypes."""
    rows = max(1, min(rows, MAX_ROWS))
    head = f.read(4)
    f.seek(0)
    if head.startswith(_GZIP_MAGIC):
        inner = name[:-3] if name.lower().endswith(".gz") else name
        stream = gzip.GzipFile(fileobj=f, mode="rb")
        try:
            return _preview_plain(stream, inner, "", rows, max_document_bytes, "gzip+")
        except (OSError, EOFError, zlib.error) as exc:
            raise MalformedData(name, f"corrupt gzip data: {exc}") from exc
    return _preview_plain(f, name, content_type, rows, max_document_bytes, "")


def _preview_plain(
    f: Any, name: str, content_type: str, rows: int, max_doc: int, prefix: str
) -> Preview:
    buffered: Any = f if isinstance(f, io.BufferedReader) else io.BufferedReader(f)
    head = buffered.peek(4096)[:4096]
    kind = _kind(name, content_type, head)
    if kind == "parquet":
        return _parquet(buffered, name, rows, max_doc, prefix)
    if kind in ("csv", "tsv"):
        return _csv(buffered, name, rows, prefix + kind, "\t" if kind == "tsv" else ",")
    if kind == "json":
        return _json(buffered, name, rows, max_doc, prefix)
    raise MalformedData(
        name,
        f"no preview for this type ({content_type or 'unknown'}); CSV, JSON and Parquet have one",
    )


def _kind(name: str, content_type: str, head: bytes) -> str:
    lower = name.lower()
    ctype = content_type.split(";")[0].strip().lower()
    if head.startswith(_PARQUET_MAGIC) or lower.endswith(".parquet"):
        return "parquet"
    if lower.endswith((".tsv", ".tab")) or ctype == "text/tab-separated-values":
        return "tsv"
    if lower.endswith(".csv") or ctype in ("text/csv", "application/csv"):
        return "csv"
    if lower.endswith((".json", ".jsonl", ".ndjson")) or ctype in (
        "application/json",
        "application/x-ndjson",
        "application/jsonl",
    ):
        return "json"
    stripped = head.lstrip()
    if stripped[:1] in (b"[", b"{"):
        return "json"
    if ctype.startswith("text/") or _looks_like_text(head):
        return "csv"
    return "binary"


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed head is still text.
        return exc.start >= len(head) - 3
    return True


def _csv(f: IO[bytes], name: str, rows: int, fmt: str, sep: str) -> Preview:
    import pandas as pd

    try:
        frame = pd.read_csv(f, sep=sep, nrows=max(rows, _CHECK_ROWS), encoding="utf-8")
    except pd.errors.EmptyDataError as exc:
        raise MalformedData(name, "the file is empty or has no header row") from exc
    except pd.errors.ParserError as exc:
        raise MalformedData(name, f"not valid CSV: {_first_line(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise MalformedData(
            name, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from exc
    return _frame(frame.head(rows), fmt)


def _json(f: IO[bytes], name: str, rows: int, max_doc: int, prefix: str) -> Preview:
    import pandas as pd

    first = f.readline()
    rest_head = f.peek(1) if hasattr(f, "peek") else b""
    try:
        first_value = json.loads(first) if first.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        first_value = None
    if isinstance(first_value, dict) and rest_head.strip():
        records = [first_value]
        for lineno, line in enumerate(f, start=2):
            if len(records) >= rows:
                break
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise MalformedData(name, f"not valid JSON lines: line {lineno}: {exc}") from exc
        return _frame(_records_frame(pd, records, name), prefix + "jsonl")
    body = first + f.read(max(0, max_doc + 1 - len(first)) if max_doc else -1)
    if max_doc and len(body) > max_doc:
        raise MalformedData(
            name,
            f"JSON document larger than {max_doc} bytes cannot be previewed; "
            "store large data as JSON lines, CSV or Parquet",
        )
    document = parse_json(body, name)
    if isinstance(document, list):
        records = document[:rows]
    elif (
        isinstance(document, dict)
        and document
        and all(isinstance(v, dict) for v in document.values())
    ):
        # A mapping of records keyed by id (e.g. {"<game id>": {...}}): one row per key.
        records = [{"key": k, **v} for k, v in list(document.items())[:rows]]
    else:
        records = [document]
    return _frame(_records_frame(pd, records, name), prefix + "json")


def parse_json(data: bytes | str, name: str) -> Any:
    """Parse UTF-8 JSON, or raise MalformedData saying what is wrong and where."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise MalformedData(
            name, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from exc
    except json.JSONDecodeError as exc:
        raise MalformedData(
            name, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def _records_frame(pd: Any, records: list[Any], name: str) -> Any:
    if records and not all(isinstance(r, dict) for r in records):
        records = [r if isinstance(r, dict) else {"value": r} for r in records]
    frame = pd.DataFrame.from_records(records)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_cell)
    return frame


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        text = json.dumps(value, separators=(",", ":"), default=str)
        return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"
    return value


def _parquet(f: IO[bytes], name: str, rows: int, max_doc: int, prefix: str) -> Preview:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source: Any = f
    if not f.seekable() or prefix:
        data = f.read(max_doc + 1 if max_doc else -1)
        if max_doc and len(data) > max_doc:
            raise MalformedData(name, f"compressed Parquet larger than {max_doc} bytes")
        source = pa.BufferReader(data)
    try:
        parquet = pq.ParquetFile(source)
        batch = next(parquet.iter_batches(batch_size=rows), None)
        frame = (
            batch.to_pandas()
            if batch is not None
            else parquet.schema_arrow.empty_table().to_pandas()
        )
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise MalformedData(name, f"not valid Parquet: {exc}") from exc
    return _frame(frame, prefix + "parquet")


def _frame(frame: Any, fmt: str) -> Preview:
    split = json.loads(frame.to_json(orient="split", date_format="iso", default_handler=str))
    columns = [str(c) for c in split["columns"]]
    dtypes = {str(c): str(t) for c, t in frame.dtypes.items()}
    return Preview(fmt, columns, split["data"], dtypes)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
