"""Versioned objects through the REST API."""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import os
from collections.abc import Callable
from typing import Any

import anyio
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from suricate.server.platform import Platform
from tests.support import FILES

CSV = b"team,down,yards\nDEN,1,12\nBAL,3,-2\nDEN,2,7\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_put_returns_201_with_metadata(alice: TestClient) -> None:
    r = alice.put("/api/v1/objects/plays.csv", content=CSV, headers={"Content-Type": "text/csv"})
    assert r.status_code == 201
    body = r.json()
    assert body["name"] == "plays.csv"
    assert body["version"] == 1
    assert body["size"] == len(CSV)
    assert body["sha256"] == sha(CSV)
    assert body["content_type"] == "text/csv"
    assert body["created_at"].endswith("Z") or "+00:00" in body["created_at"]


def test_same_name_again_is_the_next_version(alice: TestClient) -> None:
    alice.put("/api/v1/objects/plays.csv", content=CSV)
    r = alice.put("/api/v1/objects/plays.csv", content=CSV + b"BAL,4,1\n")
    assert r.status_code == 201
    assert r.json()["version"] == 2
    detail = alice.get("/api/v1/objects/plays.csv").json()
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["version"] == 2
    old = alice.get("/api/v1/objects/plays.csv/content", params={"version": 1})
    assert old.content == CSV
    assert alice.get("/api/v1/objects/plays.csv/content").content.endswith(b"BAL,4,1\n")


def test_content_is_the_exact_bytes_with_the_kept_content_type(alice: TestClient) -> None:
    data = bytes(range(256)) * 1000
    alice.put("/api/v1/objects/blob.bin", content=data, headers={"Content-Type": "image/x-test"})
    r = alice.get("/api/v1/objects/blob.bin/content")
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-type"] == "image/x-test"
    assert r.headers["x-content-sha256"] == sha(data)


def test_content_type_is_guessed_from_the_name_when_not_given(alice: TestClient) -> None:
    r = alice.put(
        "/api/v1/objects/plays.csv",
        content=CSV,
        headers={"Content-Type": "application/x-www-form-urlencoded"},  # what curl -d sends
    )
    assert r.json()["content_type"] == "text/csv"


def test_range_requests_resume_downloads(alice: TestClient) -> None:
    alice.put("/api/v1/objects/plays.csv", content=CSV)
    r = alice.get("/api/v1/objects/plays.csv/content", headers={"Range": "bytes=5-9"})
    assert r.status_code == 206
    assert r.content == CSV[5:10]


def test_list_pages_through_latest_versions(alice: TestClient) -> None:
    for i in range(5):
        alice.put(f"/api/v1/objects/obj{i}", content=b"x" * i)
    alice.put("/api/v1/objects/obj0", content=b"second")
    seen = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = alice.get("/api/v1/objects", params=params).json()
        assert len(page["items"]) <= 2
        seen.extend(page["items"])
        cursor = page["next"]
        if cursor is None:
            break
    assert [o["name"] for o in seen] == [f"obj{i}" for i in range(5)]
    assert seen[0]["version"] == 2
    assert "versions" not in seen[0]


def test_bad_cursor_is_400(alice: TestClient) -> None:
    r = alice.get("/api/v1/objects", params={"cursor": "%%%not-a-cursor"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_cursor"


def test_tags_and_description_filter_lists(alice: TestClient) -> None:
    alice.put("/api/v1/objects/a.csv", content=CSV)
    alice.put("/api/v1/objects/b.csv", content=CSV)
    r = alice.patch("/api/v1/objects/a.csv", json={"tags": ["nfl", "2013"], "description": "plays"})
    assert r.status_code == 200
    assert r.json()["tags"] == ["2013", "nfl"]
    assert r.json()["description"] == "plays"
    names = [o["name"] for o in alice.get("/api/v1/objects", params={"tag": "nfl"}).json()["items"]]
    assert names == ["a.csv"]
    # A new version keeps the object's tags.
    alice.put("/api/v1/objects/a.csv", content=CSV)
    assert alice.get("/api/v1/objects/a.csv").json()["tags"] == ["2013", "nfl"]


def test_bad_tag_is_422(alice: TestClient) -> None:
    alice.put("/api/v1/objects/a.csv", content=CSV)
    r = alice.patch("/api/v1/objects/a.csv", json={"tags": ["no spaces please"]})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_name"


def test_delete_removes_all_versions_and_their_bytes(alice: TestClient, platform: Platform) -> None:
    alice.put("/api/v1/objects/a.csv", content=CSV)
    alice.put("/api/v1/objects/a.csv", content=CSV + b"x")
    alice.put("/api/v1/objects/same.csv", content=CSV)  # shares a blob with version 1
    assert alice.delete("/api/v1/objects/a.csv").status_code == 204
    assert alice.get("/api/v1/objects/a.csv").status_code == 404
    assert alice.get("/api/v1/objects/same.csv/content").content == CSV
    blobs = [p for p in platform.store.blobs.rglob("*") if p.is_file()]
    assert len(blobs) == 1
    assert alice.delete("/api/v1/objects/a.csv").status_code == 404


def test_invalid_name_is_422(alice: TestClient) -> None:
    r = alice.put("/api/v1/objects/%2E%2E", content=b"x")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_name"


def test_missing_version_is_404(alice: TestClient) -> None:
    alice.put("/api/v1/objects/a.csv", content=CSV)
    r = alice.get("/api/v1/objects/a.csv/content", params={"version": 7})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "object_not_found"


def test_checksum_mismatch_stores_nothing(alice: TestClient, platform: Platform) -> None:
    r = alice.put("/api/v1/objects/a.csv", content=CSV, headers={"X-Content-SHA256": sha(b"other")})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "checksum_mismatch"
    assert alice.get("/api/v1/objects/a.csv").status_code == 404
    assert not any(platform.store.staging.iterdir())
    r = alice.put("/api/v1/objects/a.csv", content=CSV, headers={"X-Content-SHA256": sha(CSV)})
    assert r.status_code == 201


TRAILER = {"X-Suricate-Trailer": "X-Content-SHA256"}


def test_a_sha256_after_the_body_is_checked_and_not_stored(alice: TestClient) -> None:
    data = bytes(range(256)) * 1000
    r = alice.put("/api/v1/objects/blob.bin", content=data + sha(data).encode(), headers=TRAILER)
    assert r.status_code == 201, r.text
    assert r.json()["size"] == len(data)
    assert r.json()["sha256"] == sha(data)
    assert alice.get("/api/v1/objects/blob.bin/content").content == data


def test_a_wrong_sha256_after_the_body_stores_nothing(
    alice: TestClient, platform: Platform
) -> None:
    r = alice.put("/api/v1/objects/a.csv", content=CSV + sha(b"other").encode(), headers=TRAILER)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "checksum_mismatch"
    assert alice.get("/api/v1/objects/a.csv").status_code == 404
    assert not any(platform.store.staging.iterdir())
    assert not any(p.is_file() for p in platform.store.blobs.rglob("*"))


def test_a_body_shorter_than_its_trailer_is_incomplete(alice: TestClient) -> None:
    r = alice.put("/api/v1/objects/a.csv", content=b"abc", headers=TRAILER)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "upload_incomplete"


def test_the_sha256_goes_before_or_after_the_body_never_both(alice: TestClient) -> None:
    both = TRAILER | {"X-Content-SHA256": sha(CSV)}
    r = alice.put("/api/v1/objects/a.csv", content=CSV + sha(CSV).encode(), headers=both)
    assert r.status_code == 400
    other = {"X-Suricate-Trailer": "X-Other"}
    assert alice.put("/api/v1/objects/a.csv", content=CSV, headers=other).status_code == 400
    assert alice.get("/api/v1/objects/a.csv").status_code == 404


def test_a_trailer_cut_across_chunks_and_batches_is_found(
    alice: TestClient, platform: Platform
) -> None:
    from suricate.domain.objects import WRITE_BATCH

    alice.put("/api/v1/objects/seed.csv", content=CSV)
    tenant_id = dict((n, i) for i, n in platform.tenants.list_tenants())["acme"]
    data = bytes(range(256)) * (2 * WRITE_BATCH // 256) + b"tail"
    body = data + sha(data).encode()
    # A chunk ends inside the trailer, another right where a batch is full, one is tiny.
    cuts = [0, 1, WRITE_BATCH + 30, WRITE_BATCH + 64, len(body) - 40, len(body) - 3, len(body)]

    async def upload() -> Any:
        async def chunks() -> Any:
            for start, end in itertools.pairwise(cuts):
                yield body[start:end]

        return await platform.objects.upload(tenant_id, "cut.bin", chunks(), sha256_trailer=True)

    info = anyio.run(upload)
    assert (info.size, info.sha256) == (len(data), sha(data))
    assert alice.get("/api/v1/objects/cut.bin/content").content == data


def _service_watching(platform: Platform, watch: Callable[[Any, list[bytes]], None]) -> Any:
    """An object service on the platform's store whose writers call ``watch(writer, parts)``
    before each batch is written (it may raise, as a full disk would)."""
    from suricate.domain.objects import ObjectService

    class Watched:
        def __getattr__(self, name: str) -> Any:
            return getattr(platform.store, name)

        def writer(self) -> Any:
            writer = platform.store.writer()
            write_all = writer.write_all

            def watched(parts: list[bytes]) -> None:
                watch(writer, parts)
                write_all(parts)

            writer.write_all = watched  # type: ignore[method-assign]
            return writer

    return ObjectService(platform.db, Watched(), platform.settings.max_upload_bytes)  # type: ignore[arg-type]


def test_a_store_failing_mid_upload_keeps_nothing(platform: Platform) -> None:
    from suricate.domain.objects import WRITE_BATCH

    def failing(writer: Any, parts: list[bytes]) -> None:  # once a batch was written
        if writer.size >= WRITE_BATCH:
            raise OSError(28, "No space left on device")

    service = _service_watching(platform, failing)

    closed = []

    async def upload() -> None:
        async def chunks() -> Any:
            try:
                for _ in range(8):
                    yield b"x" * WRITE_BATCH
            finally:
                closed.append(True)

        with pytest.raises(OSError, match="No space left"):
            await service.upload(1, "full.bin", chunks())
        # The body's source is closed at once, not when collected: the server drops the rest
        # of the body then, and the connection goes on (server/http.py).
        assert closed == [True]

    anyio.run(upload)
    assert not any(platform.store.staging.iterdir())


def test_a_dribbled_body_is_gathered_not_held_a_piece_a_byte(
    alice: TestClient, platform: Platform
) -> None:
    """A client sending a few bytes at a time: its chunks are copied together, so a batch holds
    its bytes and a handful of buffers, not an object for every few bytes (nor more buffers than
    one writev takes)."""
    from suricate.domain.objects import GATHER_BELOW, WRITE_BATCH

    parts_per_write: list[int] = []
    service = _service_watching(platform, lambda _, parts: parts_per_write.append(len(parts)))
    data = os.urandom(3 * 1024 * 1024 + 5)
    body = data + sha(data).encode()

    async def upload() -> Any:
        async def chunks() -> Any:
            at = 0
            while at < len(body):  # 1 to 7 bytes, and now and then a large piece
                size = 300_000 if at % 1000 == 0 else 1 + at % 7
                yield body[at : at + size]
                at += size

        return await service.upload(1, "slow.bin", chunks(), sha256_trailer=True)

    info = anyio.run(upload)
    assert (info.size, info.sha256) == (len(data), sha(data))
    most = WRITE_BATCH // GATHER_BELOW + 8  # gathered pieces, and the large ones
    assert parts_per_write and max(parts_per_write) <= most, parts_per_write


def test_streamed_upload_without_length(alice: TestClient) -> None:
    def chunks():
        for i in range(50):
            yield bytes([i]) * 10_000

    r = alice.put("/api/v1/objects/stream.bin", content=chunks())
    assert r.status_code == 201
    assert r.json()["size"] == 500_000


def test_preview_csv(alice: TestClient) -> None:
    alice.put("/api/v1/objects/plays.csv", content=CSV)
    r = alice.get("/api/v1/objects/plays.csv/preview", params={"rows": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["columns"] == ["team", "down", "yards"]
    assert body["rows"] == [["DEN", 1, 12], ["BAL", 3, -2]]
    assert body["dtypes"]["down"] == "int64"


def test_preview_gzipped_game_file(alice: TestClient) -> None:
    data = (FILES / "2013090500.json.gz").read_bytes()
    alice.put("/api/v1/objects/2013090500.json.gz", content=data)
    body = alice.get("/api/v1/objects/2013090500.json.gz/preview").json()
    assert body["format"] == "gzip+json"
    assert "2013090500" in body["columns"]


def test_preview_json_lines_and_arrays_and_parquet(alice: TestClient) -> None:
    lines = b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'
    alice.put("/api/v1/objects/l.jsonl", content=lines)
    assert alice.get("/api/v1/objects/l.jsonl/preview").json()["rows"] == [[1, "x"], [2, "y"]]

    alice.put("/api/v1/objects/arr.json", content=json.dumps([{"a": 1}, {"a": 2}]).encode())
    assert alice.get("/api/v1/objects/arr.json/preview").json()["rows"] == [[1], [2]]

    alice.put("/api/v1/objects/l.jsonl.gz", content=gzip.compress(lines))
    assert alice.get("/api/v1/objects/l.jsonl.gz/preview").json()["format"] == "gzip+jsonl"

    buf = io.BytesIO()
    pq.write_table(pa.table({"x": [1.5, 2.5], "y": ["p", "q"]}), buf)
    alice.put("/api/v1/objects/t.parquet", content=buf.getvalue())
    body = alice.get("/api/v1/objects/t.parquet/preview").json()
    assert body["format"] == "parquet"
    assert body["rows"] == [[1.5, "p"], [2.5, "q"]]
    assert body["dtypes"]["x"] == "float64"


def test_malformed_files_get_422_naming_the_problem(alice: TestClient) -> None:
    cases = {
        "bad.csv": (b"a,b\n1,2\n3,4,5\n", "Expected 2 fields in line 3, saw 3"),
        "quote.csv": (b'a,b\n1,"unclosed\n', "EOF inside string"),
        "bad.json": (b'{"a": [1, 2}', "not valid JSON"),
        "bad.jsonl": (b'{"a": 1}\n{"a": \n', "line 2"),
        "bad.parquet": (b"PAR1 not really parquet", "not valid Parquet"),
        "bad.csv.gz": (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
        "latin1.csv": ("a,b\nÉté,1\n".encode("latin-1"), "not UTF-8"),
        "empty.csv": (b"", "empty"),
    }
    for name, (data, problem) in cases.items():
        alice.put(f"/api/v1/objects/{name}", content=data)
        r = alice.get(f"/api/v1/objects/{name}/preview")
        assert r.status_code == 422, name
        assert r.json()["error"]["code"] == "malformed_data", name
        assert problem in r.json()["error"]["message"], (name, r.json())


def test_binary_objects_have_no_preview(alice: TestClient) -> None:
    alice.put("/api/v1/objects/x.bin", content=b"\x00\x01\x02" * 100)
    r = alice.get("/api/v1/objects/x.bin/preview")
    assert r.status_code == 422
    assert "no preview" in r.json()["error"]["message"]


def test_json_document_over_the_preview_limit_is_malformed() -> None:
    import pytest

    from suricate.domain.previews import preview
    from suricate.errors import MalformedData

    big = json.dumps({"rows": [{"a": i} for i in range(50_000)]}).encode()
    for data, name in [(big, "big.json"), (gzip.compress(big), "big.json.gz")]:
        with pytest.raises(MalformedData, match="larger than 100000 bytes"):
            preview(io.BufferedReader(io.BytesIO(data)), name, "", 5, 100_000)
