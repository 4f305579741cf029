"""A replay reads at most SURICATE_REPLAY_MAX_BYTES of its object, unpacked."""

from __future__ import annotations

import gzip

import pytest

from suricate.errors import StreamError
from suricate.wire.records import records_from
from tests.domain.test_previews import zeros_gzip


def test_a_gzip_bomb_replay_stops_at_the_limit() -> None:
    bomb = zeros_gzip(64 * 1024**2)
    for name in ("bomb.csv.gz", "bomb.json", "bomb.jsonl.gz", "bomb.parquet"):
        with pytest.raises(StreamError, match="SURICATE_REPLAY_MAX_BYTES") as caught:
            records_from(bomb, name, None, max_bytes=1024**2)
        assert caught.value.code == "bad_object"


def test_a_packed_object_past_the_limit_is_refused_before_unpacking() -> None:
    with pytest.raises(StreamError, match="SURICATE_REPLAY_MAX_BYTES"):
        records_from(b"x" * 2048, "big.csv", None, max_bytes=1024)


def test_records_within_the_limit_are_read() -> None:
    data = gzip.compress(b"a,b\n1,2\n3,4\n")
    assert records_from(data, "t.csv.gz", None, max_bytes=1024) == [
        {"a": 1, "b": 2},
        {"a": 3, "b": 4},
    ]
