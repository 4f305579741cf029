"""Previews are bounded: bytes unpacked, line length, JSON parsed and time, whatever the file."""

from __future__ import annotations

import gzip
import io
import json
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from suricate.domain.previews import MAX_LINE_BYTES, MAX_PARSE_BYTES, preview
from suricate.errors import MalformedData

LIMIT = 1024**2


def zeros_gzip(unpacked: int) -> bytes:
    """gzip of ``unpacked`` zero bytes, made a chunk at a time (the packed form is ~1/1000)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = bytes(1024**2)
    out = [packer.compress(chunk) for _ in range(unpacked // len(chunk))]
    out.append(packer.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return zeros_gzip(256 * 1024**2)


@pytest.mark.parametrize(
    "name",
    ["bomb.csv.gz", "bomb.csv", "bomb.json", "bomb.jsonl", "bomb.parquet", "bomb.tsv", "bomb"],
)
def test_a_gzip_bomb_of_any_name_is_malformed_data_naming_a_limit(bomb: bytes, name: str) -> None:
    with pytest.raises(MalformedData) as caught:
        preview(io.BytesIO(bomb), name, "", 20, LIMIT)
    message = str(caught.value)
    assert any(str(n) in message for n in (LIMIT, MAX_LINE_BYTES, MAX_PARSE_BYTES)) or (
        "no preview" in message
    ), message


def test_a_csv_row_longer_than_the_line_bound_is_refused() -> None:
    data = b"a,b\n" + b"x" * (MAX_LINE_BYTES + 10) + b",1\n"
    with pytest.raises(MalformedData, match=f"line 2 is longer than {MAX_LINE_BYTES}"):
        preview(io.BytesIO(data), "long.csv", "", 5, 64 * LIMIT)


def test_a_csv_cut_by_the_byte_bound_is_a_partial_preview() -> None:
    data = b"a,b\n" + b"".join(b"%d,%s\n" % (i, b"y" * 10_000) for i in range(500))
    result = preview(io.BytesIO(gzip.compress(data)), "rows.csv.gz", "", 1000, LIMIT)
    assert 0 < len(result.rows) < 500
    assert result.partial is not None and str(LIMIT) in result.partial
    full = preview(io.BytesIO(data), "rows.csv", "", 20, 64 * LIMIT)
    assert full.partial is None and len(full.rows) == 20


def test_a_huge_json_array_shows_its_first_rows_without_parsing_the_rest() -> None:
    data = b"[" + b",".join(b'{"i": %d}' % i for i in range(300_000)) + b"]"
    assert len(data) > 3 * LIMIT
    result = preview(io.BytesIO(gzip.compress(data)), "big.json.gz", "", 5, 64 * LIMIT)
    assert result.rows == [[0], [1], [2], [3], [4]]
    assert result.partial is None


def test_json_bombs_are_refused_or_cut() -> None:
    cases = {
        "empty-objects.json": b"[" + b"{}," * 2_000_000 + b"{}]",
        "deep.json": b"[" * 2_000_000,
        "one-value.json": b'{"k": [' + b"0," * 2_000_000 + b"0]}",
        "one-string.json": b'["' + b"a" * 4_000_000 + b'"]',
        "blanks.json": b" " * 4_000_000,
    }
    for name, data in cases.items():
        try:
            result = preview(io.BytesIO(gzip.compress(data)), name + ".gz", "", 1000, LIMIT)
        except MalformedData as exc:
            assert str(LIMIT) in str(exc) or str(MAX_PARSE_BYTES) in str(exc), (name, exc)
        else:
            assert result.rows is not None, name


def test_json_lines_stop_at_the_parse_bound() -> None:
    line = json.dumps({"a": ["x" * 1000] * 100}).encode() + b"\n"
    data = line * 100
    result = preview(io.BytesIO(data), "many.jsonl", "", 100, 64 * LIMIT)
    assert 0 < len(result.rows) < 100
    assert result.partial is not None


def test_a_parquet_file_with_giant_metadata_is_refused() -> None:
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": [1, 2]}), buf)
    data = buf.getvalue()
    # Claim 1 GiB of metadata in the footer.
    forged = data[:-8] + (1024**3).to_bytes(4, "little") + b"PAR1"
    with pytest.raises(MalformedData, match="metadata larger than"):
        preview(io.BytesIO(forged), "forged.parquet", "", 5, LIMIT)
    assert preview(io.BytesIO(data), "ok.parquet", "", 5, LIMIT).rows == [[1], [2]]


def test_a_preview_past_its_time_limit_gives_up() -> None:
    class Slow(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            return super().read(min(n or 1, 64) if n and n > 0 else 64)

    data = b"a\n" + b"1\n" * 100_000
    with pytest.raises(MalformedData, match="too long"):
        preview(Slow(data), "slow.csv", "", 1000, LIMIT, timeout=0.0)


def test_long_text_cells_are_cut_in_the_answer() -> None:
    data = b"a\n" + b"z" * 50_000 + b"\n"
    result = preview(io.BytesIO(data), "long.csv", "", 5, LIMIT)
    assert len(result.rows[0][0]) < 5000
