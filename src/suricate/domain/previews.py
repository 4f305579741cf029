"""Tabular previews of stored objects: CSV/TSV, JSON lines, JSON documents, Parquet, gzip'd or not.

Every preview is bounded, whatever the file says about itself: it reads at most ``max_bytes``
unpacked bytes (``SURICATE_PREVIEW_MAX_BYTES``; a gzip bomb stops there), a line (CSV, JSON
lines) of at most ``MAX_LINE_BYTES``, parses at most ``MAX_PARSE_BYTES`` of JSON into Python
objects, and gives up after ``timeout`` seconds. A preview that hits a bound before it has a
single row gets ``MalformedData`` naming the limit; one that hits it later shows the rows it has
and says it is ``partial``. A file that cannot be read gets ``MalformedData`` naming the problem.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import re
import struct
import time
import zlib
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from suricate.errors import MalformedData

DEFAULT_ROWS = 20
MAX_ROWS = 1000
DEFAULT_MAX_BYTES = 16 * 1024**2
# The longest CSV row or JSON line a preview reads: a file with no line breaks (a bomb of zeros)
# stops here instead of being read whole as one "row".
MAX_LINE_BYTES = 1024**2
# JSON text parsed into Python objects: objects cost up to ~40x their text ("{}," is a 64-byte
# dict), so this bounds the memory of a JSON preview however hostile the file.
MAX_PARSE_BYTES = 1024**2
DEFAULT_TIMEOUT = 10.0
# Parse at least this many rows of a text table, so a bad line near the top is found even
# when only a few rows are shown.
_CHECK_ROWS = 1000
_CELL_CHARS = 200
_TEXT_CHARS = 2000
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Preview:
    format: str
    columns: list[str]
    rows: list[list[Any]]
    dtypes: dict[str, str]
    partial: str | None = None  # why fewer rows than asked for are shown, when a bound cut it


class _Limited(io.RawIOBase):
    """A read-only stream that yields at most ``limit`` bytes of ``raw`` before ``deadline``."""

    def __init__(self, raw: Any, limit: int, deadline: float, name: str) -> None:
        self.raw, self.left, self.deadline, self.name = raw, limit, deadline, name
        self.limit = limit
        self.hit = False  # True once the file had more than ``limit`` bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if time.monotonic() > self.deadline:
            raise MalformedData(self.name, "the preview took too long; download the file instead")
        if self.hit:
            return 0
        want = min(len(buffer), self.left + 1)
        data = self.raw.read(want)
        if len(data) > self.left:
            self.hit = True
            data = data[: self.left]
        self.left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def preview(
    f: BinaryIO,
    name: str,
    content_type: str,
    rows: int = DEFAULT_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
) -> Preview:
    """Return the first ``rows`` rows of a tabular file as columns, rows and dtypes."""
    rows = max(1, min(rows, MAX_ROWS))
    max_bytes = max_bytes or DEFAULT_MAX_BYTES
    deadline = time.monotonic() + timeout
    head = f.read(4)
    f.seek(0)
    if head.startswith(_GZIP_MAGIC):
        inner = name[:-3] if name.lower().endswith(".gz") else name
        limited = _Limited(gzip.GzipFile(fileobj=f, mode="rb"), max_bytes, deadline, name)
        try:
            return _preview_plain(limited, f, inner, "", rows, "gzip+")
        except (OSError, EOFError, zlib.error) as exc:
            raise MalformedData(name, f"corrupt gzip data: {exc}") from exc
    limited = _Limited(f, max_bytes, deadline, name)
    return _preview_plain(limited, f, name, content_type, rows, "")


def _preview_plain(
    limited: _Limited, raw: Any, name: str, content_type: str, rows: int, prefix: str
) -> Preview:
    buffered = io.BufferedReader(limited, buffer_size=_CHUNK)
    head = buffered.peek(4096)[:4096]
    kind = _kind(name, content_type, head)
    if kind == "parquet":
        return _parquet(buffered, limited, raw, name, rows, prefix)
    if kind in ("csv", "tsv"):
        return _csv(buffered, limited, name, rows, prefix + kind, "\t" if kind == "tsv" else ",")
    if kind == "json":
        return _json(buffered, limited, name, rows, prefix)
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


def _line(f: IO[bytes], name: str, lineno: int) -> bytes:
    """Read one line, refusing one longer than ``MAX_LINE_BYTES``."""
    line = f.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise MalformedData(
            name,
            f"line {lineno} is longer than {MAX_LINE_BYTES} bytes, the longest a preview reads",
        )
    return line


def _over(limited: _Limited) -> str:
    return f"the file has more than {limited.limit} bytes unpacked (SURICATE_PREVIEW_MAX_BYTES)"


def _csv(f: IO[bytes], limited: _Limited, name: str, rows: int, fmt: str, sep: str) -> Preview:
    import pandas as pd

    wanted = max(rows, _CHECK_ROWS) + 1  # and the header
    lines: list[bytes] = []
    while len(lines) < wanted:
        line = _line(f, name, len(lines) + 1)
        if not line:
            break
        lines.append(line)
    cut = limited.hit and len(lines) < wanted
    if cut:
        if len(lines) < 2:
            raise MalformedData(name, f"{_over(limited)} before its first row")
        lines.pop()  # the last line may be cut short
    try:
        frame = pd.read_csv(io.BytesIO(b"".join(lines)), sep=sep, encoding="utf-8")
    except pd.errors.EmptyDataError as exc:
        raise MalformedData(name, "the file is empty or has no header row") from exc
    except pd.errors.ParserError as exc:
        raise MalformedData(name, f"not valid CSV: {_first_line(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise MalformedData(
            name, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from exc
    partial = _over(limited) if cut and len(frame) < rows else None
    return _frame(frame.head(rows), fmt, partial)


def _json(f: Any, limited: _Limited, name: str, rows: int, prefix: str) -> Preview:
    import pandas as pd

    first = _line(f, name, 1) if name.lower().endswith((".jsonl", ".ndjson")) else None
    if first is None:
        first = f.readline(MAX_LINE_BYTES + 1)
        is_lines = False
        # JSON lines: a first line that is a whole object, and more lines after it.
        if len(first) <= MAX_LINE_BYTES and f.peek(1).strip():
            try:
                is_lines = isinstance(json.loads(first), dict)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                is_lines = False
        if not is_lines:
            records, partial = _json_document(_Chained(first, f), limited, name, rows)
            return _frame(_records_frame(pd, records, name), prefix + "json", partial)
    return _json_lines(f, limited, first, name, rows, prefix, pd)


def _json_lines(
    f: IO[bytes], limited: _Limited, first: bytes, name: str, rows: int, prefix: str, pd: Any
) -> Preview:
    records: list[Any] = []
    parsed = 0
    partial = None
    line, lineno = first, 1
    while len(records) < rows and line:
        if line.strip():
            if limited.hit and not line.endswith(b"\n"):
                partial = _over(limited)  # the byte limit cut this line
                break
            parsed += len(line)
            if parsed > MAX_PARSE_BYTES and records:
                partial = f"the rows shown are the first {MAX_PARSE_BYTES} bytes of JSON lines"
                break
            records.append(_parse(line, name, f"not valid JSON lines: line {lineno}: "))
        lineno += 1
        line = _line(f, name, lineno)
    if not records and partial:
        raise MalformedData(name, f"{partial} before its first row")
    return _frame(_records_frame(pd, records, name), prefix + "jsonl", partial)


class _Chained:
    """The first line already read, then the rest of the stream."""

    def __init__(self, first: bytes, rest: IO[bytes]) -> None:
        self.first, self.rest = first, rest

    def read(self, n: int) -> bytes:
        if self.first:
            out, self.first = self.first[:n], self.first[n:]
            return out
        return self.rest.read(n)


class _Text:
    """UTF-8 text decoded from a stream a chunk at a time."""

    def __init__(self, stream: Any, name: str) -> None:
        self.stream, self.name = stream, name
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(_CHUNK)
        try:
            self.text += self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise MalformedData(self.name, f"not UTF-8 text ({exc.reason})") from None
        self.eof = not data
        return bool(data)


# Outside strings, what may end a top-level element: a quote, a bracket or a comma.
_SPECIAL = re.compile(r'["\[\]{},]')
_STRING_END = re.compile(r'["\\]')


def _json_document(
    stream: Any, limited: _Limited, name: str, rows: int
) -> tuple[list[Any], str | None]:
    """Read the first ``rows`` elements of a JSON array (or entries of an object of records),
    parsing only their own text: a huge document costs no more than its first rows."""
    budget = min(limited.limit, MAX_PARSE_BYTES)
    too_big = MalformedData(
        name,
        f"JSON document larger than {budget} bytes cannot be previewed; "
        "store large data as JSON lines, CSV or Parquet",
    )
    src = _Text(stream, name)
    while not src.text.strip() and src.more():
        pass
    src.text = src.text.lstrip()
    if not src.text:
        if limited.hit:
            raise MalformedData(name, f"{_over(limited)} before any JSON")
        raise MalformedData(name, "the file is empty")
    opener = src.text[0]
    if opener not in "[{":
        while len(src.text) <= budget and src.more():
            pass
        if len(src.text) > budget or limited.hit:
            raise too_big
        return [_parse(src.text, name)], None
    elements: list[Any] = []
    records = True  # an object whose values are all objects: one row per key
    parsed = depth = 0
    start = pos = 1
    in_string = closed = False
    while len(elements) < rows or (opener == "{" and not records):
        if parsed + (pos - start) > budget:
            break
        text = src.text
        if in_string:
            found = _STRING_END.search(text, pos)
            if found is None or (found.group() != '"' and found.end() >= len(text)):
                pos = len(text) - 1 if found is not None else len(text)
                if not src.more():
                    if limited.hit:
                        break
                    raise MalformedData(name, "not valid JSON: unterminated string")
                continue
            pos = found.end() + (1 if found.group() != '"' else 0)
            in_string = found.group() != '"'
            continue
        found = _SPECIAL.search(text, pos)
        if found is None:
            pos = len(text)
            if not src.more():
                if limited.hit:
                    break
                raise MalformedData(name, "not valid JSON: the document ends early")
            continue
        char, pos = found.group(), found.end()
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}" and depth > 0:
            depth -= 1
        elif depth == 0:
            element = text[start : pos - 1]
            if element.strip():
                parsed += len(element)
                if opener == "[":
                    elements.append(_parse(element, name))
                else:
                    entry = _parse("{" + element + "}", name)
                    records = records and all(isinstance(v, dict) for v in entry.values())
                    elements.append(entry)
            src.text, pos, start = text[pos:], 0, 0
            if char != ",":
                closed = True
                break
    partial = None
    if not closed and len(elements) < rows:
        partial = (
            _over(limited)
            if limited.hit
            else f"the rows shown are the first {budget} bytes of JSON, the most a preview parses"
        )
    if opener == "[":
        if not elements and partial:
            raise too_big
        return elements, partial
    if elements and records:
        return [{"key": k, **v} for entry in elements for k, v in entry.items()], partial
    if closed:
        document: dict[str, Any] = {}
        for entry in elements:
            document.update(entry)
        return [document], None
    raise too_big


def _parse(text: str | bytes, name: str, what: str = "not valid JSON: ") -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedData(name, f"{what}{exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise MalformedData(name, f"{what}not UTF-8 ({exc.reason})") from exc
    except RecursionError:
        raise MalformedData(name, f"{what}nested too deeply") from None


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
    except RecursionError:
        raise MalformedData(name, "not valid JSON: nested too deeply") from None


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


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _TEXT_CHARS:
        return value[: _TEXT_CHARS - 1] + "…"
    return value


def _parquet(
    f: IO[bytes], limited: _Limited, raw: Any, name: str, rows: int, prefix: str
) -> Preview:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source: Any = raw
    if prefix or not raw.seekable():
        data = f.read()
        if limited.hit:
            raise MalformedData(name, f"compressed Parquet larger than {limited.limit} bytes")
        source = pa.BufferReader(data)
    else:
        # The footer says how long the metadata is: refuse a giant one before pyarrow reads it.
        size = raw.seek(0, io.SEEK_END)
        raw.seek(max(0, size - 8))
        tail = raw.read(8)
        raw.seek(0)
        if len(tail) == 8 and tail[4:] == _PARQUET_MAGIC:
            (meta_len,) = struct.unpack("<I", tail[:4])
            if meta_len > limited.limit:
                raise MalformedData(
                    name, f"Parquet metadata larger than {limited.limit} bytes cannot be previewed"
                )
    try:
        parquet = pq.ParquetFile(source)
        meta = parquet.metadata
        if meta.num_row_groups and meta.row_group(0).total_byte_size > limited.limit:
            raise MalformedData(
                name,
                f"the first row group unpacks to {meta.row_group(0).total_byte_size} bytes, "
                f"more than the {limited.limit} a preview reads (SURICATE_PREVIEW_MAX_BYTES); "
                "write smaller row groups",
            )
        batch = next(parquet.iter_batches(batch_size=rows), None)
        frame = (
            batch.to_pandas()
            if batch is not None
            else parquet.schema_arrow.empty_table().to_pandas()
        )
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise MalformedData(name, f"not valid Parquet: {exc}") from exc
    return _frame(frame, prefix + "parquet")


def _frame(frame: Any, fmt: str, partial: str | None = None) -> Preview:
    split = json.loads(frame.to_json(orient="split", date_format="iso", default_handler=str))
    # A preview is for reading: a long text cell is cut, so the answer stays small.
    rows = [[_short(v) for v in row] for row in split["data"]]
    columns = [str(c) for c in split["columns"]]
    dtypes = {str(c): str(t) for c, t in frame.dtypes.items()}
    return Preview(fmt, columns, rows, dtypes, partial)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
