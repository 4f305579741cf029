"""Where object bytes live: the ``ObjectStore`` interface and its local-directory implementation.

Blobs are addressed by key (the object service uses ``<tenant>/<sha256>``). Writes are staged:
bytes stream into a staging file while their sha256 is computed, and only ``commit`` makes the
blob visible, atomically, so a reader never sees half a blob and a failed upload leaves nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from suricate.errors import StoreLocked


class BlobWriter(Protocol):
    """A blob being written; nothing is visible until ``commit``."""

    size: int

    def write(self, chunk: bytes) -> None: ...

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


class _LocalWriter:
    def __init__(self, store: LocalObjectStore) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.staging, prefix="upload-")
        self._path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def sha256(self) -> str:
        return self._hash.hexdigest()

    def commit(self, key: str) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        target = self._store.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Same content, same key: replacing an existing blob is harmless and keeps it fresh.
        os.replace(self._path, target)

    def discard(self) -> None:
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

    def clear_staging(self) -> int:
        """Remove uploads a crashed server left half-written; return how many."""
        count = 0
        for path in self.staging.iterdir():
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
