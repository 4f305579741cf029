"""The local store's writers: staged, hashed beside the writes, committed atomically."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from suricate.store.blobs import LocalObjectStore


def test_writers_hash_in_at_most_eight_threads_and_get_every_digest_right(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    parts = [os.urandom(300_000) for _ in range(3)]
    writers = [store.writer() for _ in range(20)]
    for writer in writers:  # past its first 256 KiB a writer hashes in a thread, if one is free
        writer.write_all(parts[:2])
    hashing = [t for t in threading.enumerate() if t.name == "upload-sha256"]
    assert 0 < len(hashing) <= 8
    for writer in writers:
        writer.write(parts[2])
    digest = hashlib.sha256(b"".join(parts)).hexdigest()
    assert all(writer.sha256() == digest for writer in writers)
    writers[0].commit(f"1/{digest}")
    for writer in writers[1:]:
        writer.discard()
    assert store.path(f"1/{digest}").read_bytes() == b"".join(parts)
    assert not [t for t in threading.enumerate() if t.name == "upload-sha256"]


def test_a_blob_stored_already_is_kept_and_the_staged_copy_goes(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    for _ in range(2):
        writer = store.writer()
        writer.write(b"same bytes")
        writer.commit("1/ab/same")
    assert store.path("1/ab/same").read_bytes() == b"same bytes"
    for thread in threading.enumerate():
        if thread.name == "unlink-staged":
            thread.join(5)
    assert list(store.staging.iterdir()) == []


def test_more_parts_than_one_writev_takes_are_written_in_order(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    parts = [os.urandom(1 + i % 50) for i in range(3000)]  # IOV_MAX is 1024 on Linux
    writer = store.writer()
    writer.write_all(parts)
    digest = hashlib.sha256(b"".join(parts)).hexdigest()
    assert writer.sha256() == digest
    writer.commit(f"1/{digest}")
    assert store.path(f"1/{digest}").read_bytes() == b"".join(parts)
