"""Where object bytes live: the ``ObjectStore`` interface and its local-directory implementation.

Blobs are addressed by key (the object service uses ``<tenant>/<sha256>``). Writes are staged:
bytes stream into a staging file while their sha256 is computed, and only ``commit`` makes the
blob visible, atomically, so a reader never sees half a blob and a failed upload leaves nothing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from suricate.errors import ObjectStoreUnavailable, StoreLocked
from suricate.threads import start_spare

Buffer = bytes | memoryview


class BlobWriter(Protocol):
    """A blob being written; nothing is visible until ``commit``."""

    size: int

    def write(self, chunk: Buffer) -> None: ...

    def write_all(self, parts: Sequence[Buffer]) -> None:
        """Write ``parts`` in order; they must not change afterwards."""

    def sha256(self) -> str: ...

    def commit(self, key: str) -> None: ...

    def discard(self) -> None: ...


class ObjectStore(Protocol):
    """Store and fetch immutable blobs by key."""

    def writer(self) -> BlobWriter: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def local_path(self, key: str) -> Path | None: ...


# Linux's sync_file_range(2) flag that starts writing a range to disk without waiting.
_SYNC_FILE_RANGE_WRITE = 2


@functools.cache
def _sync_file_range() -> Callable[[int, int, int], None] | None:
    """Return a function starting the writeback of a file's byte range (None: not Linux)."""
    import ctypes

    call = getattr(ctypes.CDLL(None, use_errno=True), "sync_file_range", None)
    if call is None:
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]

    def start(fd: int, offset: int, count: int) -> None:
        call(fd, offset, count, _SYNC_FILE_RANGE_WRITE)  # a hint: fsync still decides

    return start


# The most buffers one writev takes (Linux's IOV_MAX); the rest go in the next calls.
_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024
# Hashing threads at once, across all writers: past this, a writer hashes where it writes.
_HASHERS = threading.BoundedSemaphore(8)
# Threads removing staged copies of bytes stored already: past this, removed before the answer.
_UNLINKERS = threading.BoundedSemaphore(2)


class _Hashing:
    """The sha256 of a stream of parts, computed in a thread of its own (hashlib lets go of the
    GIL): an upload's hashing and its writing to disk, about as long as each other, run side by
    side on two cores. A stream's first bytes are hashed where they are written: a small one
    needs no thread. Parts go over in batches: each hand-over costs both threads the GIL."""

    INLINE = 256 * 1024  # bytes hashed where they are written before the thread starts
    DEPTH = 2  # batches queued at most, so memory stays flat whatever the upload's size

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._batches: queue.Queue[Sequence[Buffer] | None] = queue.Queue(self.DEPTH)
        self._thread: threading.Thread | None = None
        self._inline = 0

    def update(self, parts: Sequence[Buffer]) -> None:
        """Add ``parts``, which must not change afterwards (bytes, or views of bytes)."""
        if self._thread is None:
            size = sum(len(p) for p in parts)
            self._inline += size
            if self._inline > self.INLINE:
                self._thread = start_spare(_HASHERS, self._run, "upload-sha256")
            if self._thread is None:
                self._hash_all(parts)
                return
        self._batches.put(parts)

    def _hash_all(self, parts: Sequence[Buffer]) -> None:
        for part in parts:
            self._hash.update(part)

    def _run(self) -> None:
        while (parts := self._batches.get()) is not None:
            self._hash_all(parts)

    def hexdigest(self) -> str:
        self.close()
        return self._hash.hexdigest()

    def close(self) -> None:
        """Wait for the parts queued so far to be hashed, and end the thread."""
        if self._thread is not None:
            self._batches.put(None)
            self._thread.join()
            self._thread = None


class _LocalWriter:
    # Bytes written between two starts of their writeback to disk: the disk works while the
    # upload goes on, and commit's fsync finds little left to write.
    WRITEBACK_EVERY: int | None = 8 * 1024 * 1024

    def __init__(self, store: LocalObjectStore) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.staging, prefix="upload-")
        self._path = Path(name)
        self._file = os.fdopen(fd, "wb", buffering=0)  # parts go to the kernel as they are
        self._hash = _Hashing()
        self.size = 0
        self._written_back = 0

    def write(self, chunk: Buffer) -> None:
        self.write_all([chunk])

    def write_all(self, parts: Sequence[Buffer]) -> None:
        self._hash.update(parts)  # while they are written
        fd = self._file.fileno()
        size = sum(len(p) for p in parts)
        views = [memoryview(p) for p in parts]
        left = size
        while left:  # one system call for all, but a write may stop short (a signal, ENOSPC)
            done = os.writev(fd, views[:_IOV_MAX])
            left -= done
            while views and done >= len(views[0]):
                done -= len(views.pop(0))
            if done:
                views[0] = views[0][done:]
        self.size += size
        every = self.WRITEBACK_EVERY
        if every and self.size - self._written_back >= every and (start := _sync_file_range()):
            start(fd, self._written_back, self.size - self._written_back)
            self._written_back = self.size

    def sha256(self) -> str:
        return self._hash.hexdigest()

    def commit(self, key: str) -> None:
        os.fsync(self._file.fileno())
        self._file.close()
        target = self._store.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            # The same bytes are stored already (the key is their digest): keep those, and
            # drop the staged copy behind the answer, as a file's last unlink drops its pages
            # from memory (about 50 ms for 256 MiB). A crash meanwhile leaves it to the clean-up
            # of staging at start.
            if start_spare(_UNLINKERS, self._path.unlink, "unlink-staged") is None:
                self._path.unlink()
            return
        os.replace(self._path, target)

    def discard(self) -> None:
        self._hash.close()
        if not self._file.closed:
            self._file.close()
        self._path.unlink(missing_ok=True)


class LocalObjectStore:
    """Keep blobs as files under one directory (the embedded default)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.staging = root / "staging"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)

    def lock(self) -> IO[bytes]:
        """Take the store's exclusive lock (held until the returned file is closed).

        One server owns a local store: a second one would clear the first's uploads in progress.
        """
        import fcntl

        handle = (self.root / ".lock").open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise StoreLocked(self.root) from exc
        return handle

    def clear_staging(self, older_than: float | None = None) -> int:
        """Remove uploads a crashed server left half-written (those not touched for
        ``older_than`` seconds, when given); return how many."""
        import time

        count = 0
        for path in self.staging.iterdir():
            if older_than is not None:
                try:
                    if time.time() - path.stat().st_mtime < older_than:
                        continue
                except FileNotFoundError:
                    continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            count += 1
        return count

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"invalid blob key {key!r}")
        return self.blobs.joinpath(*parts)

    def writer(self) -> BlobWriter:
        return _LocalWriter(self)

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self.path(key)


class _S3Writer(_LocalWriter):
    """Stage locally while hashing, then upload in one go: S3 makes a PUT visible atomically."""

    _store: S3ObjectStore
    WRITEBACK_EVERY = None  # the staged file is read back and deleted, never kept

    def commit(self, key: str) -> None:
        self._file.close()
        try:
            with self._store.failures():
                self._store.fs.put_file(str(self._path), self._store.s3_path(key))
        finally:
            self._path.unlink(missing_ok=True)


class S3ObjectStore(LocalObjectStore):
    """Keep blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph...) under a prefix.

    Uploads are staged on local disk (the data dir) while their sha256 is computed, so a cut-off
    upload never reaches the bucket; the server's lock stays on the local data dir. Credentials
    come from the usual AWS settings (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile,
    or an instance role), never from Suricate's own settings.
    """

    def __init__(self, url: str, staging_root: Path, endpoint_url: str | None = None) -> None:
        import s3fs

        super().__init__(staging_root)
        bucket_and_prefix = url.removeprefix("s3://").strip("/")
        if not bucket_and_prefix:
            raise ValueError(f"object store URL {url!r} names no bucket")
        self.url = url
        self.prefix = bucket_and_prefix
        client_kwargs = {"endpoint_url": endpoint_url} if endpoint_url else {}
        # No listing cache: another server or node may write the same keys.
        self.fs = s3fs.S3FileSystem(client_kwargs=client_kwargs, use_listings_cache=False)

    @contextlib.contextmanager
    def failures(self) -> Iterator[None]:
        """Turn the S3 client's failures into ObjectStoreUnavailable (a 503 naming the cause)."""
        from botocore.exceptions import BotoCoreError

        try:
            yield
        except (OSError, BotoCoreError) as exc:
            raise ObjectStoreUnavailable(self.url, exc) from exc

    def check(self) -> None:
        """Fail with ObjectStoreUnavailable unless the bucket answers (for readiness)."""
        with self.failures():
            self.fs.ls(self.prefix.split("/")[0], refresh=True)

    def s3_path(self, key: str) -> str:
        self.path(key)  # validates the key the same way as the local store
        return f"{self.prefix}/{key}"

    def writer(self) -> BlobWriter:
        return _S3Writer(self)

    def open(self, key: str) -> BinaryIO:
        # A seekable file that reads by ranges (previews of Parquet seek to the footer).
        with self.failures():
            handle: BinaryIO = self.fs.open(self.s3_path(key), "rb", block_size=4 * 1024 * 1024)
        return handle

    def exists(self, key: str) -> bool:
        with self.failures():
            return bool(self.fs.exists(self.s3_path(key)))

    def delete(self, key: str) -> None:
        # Already gone is fine (deleting is idempotent); any other failure is the store's.
        with self.failures(), contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.s3_path(key))

    def local_path(self, key: str) -> Path | None:
        return None


def object_store(
    url: str | None, data_objects_dir: Path, endpoint_url: str | None
) -> LocalObjectStore:
    """Open the store a URL names: ``s3://bucket/prefix``, a directory, or the data dir's."""
    if url and url.startswith("s3://"):
        return S3ObjectStore(url, data_objects_dir, endpoint_url)
    if url and "://" in url and not url.startswith("file://"):
        raise ValueError(f"unsupported object store URL {url!r}: use s3://bucket/prefix or a path")
    return LocalObjectStore(Path(url.removeprefix("file://")) if url else data_objects_dir)
