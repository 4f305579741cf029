"""Versioned data objects of a tenant: streamed uploads, downloads, tags, previews."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import anyio
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from suricate.domain.pagination import Page, keyset, page_of
from suricate.domain.write_behind import WriteBehind
from suricate.errors import (
    ChecksumMismatch,
    ObjectNotFound,
    UploadIncomplete,
    UploadTooLarge,
)
from suricate.names import check_name, normal_name, storable
from suricate.store.blobs import BlobWriter, Buffer, ObjectStore
from suricate.store.db import Database
from suricate.store.tables import DataObject, ObjectTag, ObjectVersion, utcnow

# Hash and write in batches of this size off the event loop: large enough to amortise the
# hand-over to the writing thread, small enough to keep memory flat whatever the upload size.
WRITE_BATCH = 1024 * 1024
# Chunks smaller than this are copied together before they are batched.
GATHER_BELOW = 4 * 1024
# A body sent with its digest after it ends with the 64 hex digits of its sha256.
SHA256_TRAILER = 64


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: int
    size: int
    sha256: str
    content_type: str
    created_at: datetime


@dataclass(frozen=True)
class ObjectInfo:
    name: str
    version: int
    size: int
    sha256: str
    content_type: str
    created_at: datetime
    updated_at: datetime
    description: str
    tags: list[str]
    versions: list[VersionInfo] = field(default_factory=list)


def blob_key(tenant_id: int, sha256: str) -> str:
    """Return where a tenant's blob with this digest lives in the store."""
    return f"{tenant_id}/{sha256[:2]}/{sha256}"


def _version_info(name: str, v: ObjectVersion) -> VersionInfo:
    return VersionInfo(name, v.version, v.size, v.sha256, v.content_type, v.created_at)


def _object_info(obj: DataObject, latest: ObjectVersion, versions: bool) -> ObjectInfo:
    return ObjectInfo(
        name=obj.name,
        version=latest.version,
        size=latest.size,
        sha256=latest.sha256,
        content_type=latest.content_type,
        created_at=latest.created_at,
        updated_at=obj.updated_at,
        description=obj.description,
        tags=[t.tag for t in obj.tags],
        versions=[_version_info(obj.name, v) for v in obj.versions] if versions else [],
    )


class ObjectService:
    """Store, version, list, read and delete a tenant's objects."""

    def __init__(self, db: Database, store: ObjectStore, max_upload_bytes: int) -> None:
        self.db = db
        self.store = store
        self.max_upload_bytes = max_upload_bytes

    async def upload(
        self,
        tenant_id: int,
        name: str,
        chunks: AsyncIterator[Buffer],
        *,
        content_type: str | None = None,
        expected_size: int | None = None,
        expected_sha256: str | None = None,
        sha256_trailer: bool = False,
        user_id: int | None = None,
    ) -> VersionInfo:
        """Stream ``chunks`` into a new version of ``name``; nothing is kept unless all is.

        With ``sha256_trailer`` the last 64 bytes are the hex sha256 of the bytes before them
        (a client that hashes while it sends knows it only at the end), checked like
        ``expected_sha256``; ``expected_size`` counts them.
        """
        name = check_name("object", name)
        hold = SHA256_TRAILER if sha256_trailer else 0
        if expected_size is not None and expected_size - hold > self.max_upload_bytes:
            raise UploadTooLarge(self.max_upload_bytes)
        content_type = _content_type(name, content_type)
        writer = await anyio.to_thread.run_sync(self.store.writer)
        try:
            tail = await self._receive(writer, chunks, hold)
            received = writer.size + len(tail)
            if expected_size is not None and received != expected_size:
                raise UploadIncomplete(expected_size, received)
            if sha256_trailer:
                if len(tail) < hold:
                    raise UploadIncomplete(expected_size, received)
                expected_sha256 = tail.decode("latin-1")
            digest = await anyio.to_thread.run_sync(writer.sha256)  # waits for its thread
            if expected_sha256 is not None and expected_sha256.lower() != digest:
                raise ChecksumMismatch(expected_sha256, digest)
            await anyio.to_thread.run_sync(writer.commit, blob_key(tenant_id, digest))
        except BaseException:
            # Cancellation (a client gone mid-upload) lands here too: shield the clean-up.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(writer.discard)
            raise
        return await anyio.to_thread.run_sync(
            self._add_version, tenant_id, name, writer.size, digest, content_type, user_id
        )

    async def _receive(self, writer: BlobWriter, chunks: AsyncIterator[Buffer], hold: int) -> bytes:
        """Write all of ``chunks`` but their last ``hold`` bytes, which are returned.

        Batches are written (and hashed) by threads of their own while the next ones are
        received, and the chunks go to the writer as they came, without a copy.
        """
        behind: WriteBehind[list[Buffer]] = WriteBehind(writer.write_all, "upload-write")
        try:
            tail = await self._batch(chunks, hold, behind)
            await behind.close()
        except BaseException:
            # The writer is discarded next: its thread must be done with the file first. The
            # body's source is closed now, not when collected (the server drops the rest).
            with anyio.CancelScope(shield=True):
                await behind.stop()
                if (close := getattr(chunks, "aclose", None)) is not None:
                    await close()
            raise
        return tail

    async def _batch(
        self, chunks: AsyncIterator[Buffer], hold: int, behind: WriteBehind[list[Buffer]]
    ) -> bytes:
        """Hand ``chunks`` on in batches, but their last ``hold`` bytes, which are returned.

        Small chunks (a slow or dribbling client's) are gathered into one buffer as they come:
        a batch holds the client's bytes, not a Python object for each few of them.
        """
        batch: list[Buffer] = []
        batch_size = 0
        received = 0
        limit = self.max_upload_bytes + hold
        small = bytearray()
        async for chunk in chunks:
            if not chunk:
                continue
            received += len(chunk)
            if received > limit:
                raise UploadTooLarge(self.max_upload_bytes)
            if len(chunk) < GATHER_BELOW:
                small += chunk
            elif small:  # what was gathered goes first, then the chunk as it is
                batch += (memoryview(small), chunk)
                small = bytearray()
            else:
                batch.append(chunk)
            batch_size += len(chunk)
            if small and (len(small) >= GATHER_BELOW or batch_size >= WRITE_BATCH + hold):
                batch.append(memoryview(small))  # handed on as it is: a new one gathers next
                small = bytearray()
            if batch_size >= WRITE_BATCH + hold:
                tail = _hold_back(batch, hold)
                await behind.put(batch)
                batch, batch_size = ([tail] if tail else []), len(tail)
        if small:
            batch.append(memoryview(small))
        tail = _hold_back(batch, hold)
        if batch and behind.started:
            await behind.put(batch)
        elif batch:  # all of it in one batch: one hop to a worker, no thread of its own
            await anyio.to_thread.run_sync(behind.write, batch)
        return tail

    def _add_version(
        self,
        tenant_id: int,
        name: str,
        size: int,
        digest: str,
        content_type: str,
        user_id: int | None,
    ) -> VersionInfo:
        try:
            return self._record_version(tenant_id, name, size, digest, content_type, user_id)
        except BaseException:
            self._drop_unreferenced(tenant_id, {digest})
            raise

    def _record_version(
        self,
        tenant_id: int,
        name: str,
        size: int,
        digest: str,
        content_type: str,
        user_id: int | None,
    ) -> VersionInfo:
        now = utcnow()
        with self.db.session() as s:
            # Create the object row if it is new; a concurrent first upload may win, that is fine.
            s.execute(
                _insert(s)(DataObject)
                .values(
                    tenant_id=tenant_id,
                    name=name,
                    description="",
                    latest_version=0,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
            )
        with self.db.session() as s:
            # Writing first takes the row (PostgreSQL) or database (SQLite) lock before anything
            # is read, so concurrent uploads to one name get consecutive version numbers.
            object_id, number = s.execute(
                update(DataObject)
                .where(DataObject.tenant_id == tenant_id, DataObject.name == name)
                .values(latest_version=DataObject.latest_version + 1, updated_at=now)
                .returning(DataObject.id, DataObject.latest_version)
            ).one()
            version = ObjectVersion(
                tenant_id=tenant_id,
                object_id=object_id,
                version=number,
                size=size,
                sha256=digest,
                content_type=content_type,
                created_at=now,
                created_by=user_id,
            )
            s.add(version)
            s.flush()
            return _version_info(name, version)

    def list_latest(
        self,
        tenant_id: int,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        tag: str | None = None,
    ) -> Page[ObjectInfo]:
        """List the latest version of each object, by name."""
        with self.db.session() as s:
            query = (
                select(DataObject, ObjectVersion)
                .join(
                    ObjectVersion,
                    (ObjectVersion.object_id == DataObject.id)
                    & (ObjectVersion.version == DataObject.latest_version),
                )
                .where(DataObject.tenant_id == tenant_id)
                .options(selectinload(DataObject.tags))
            )
            if tag:
                query = query.where(
                    DataObject.id.in_(
                        select(ObjectTag.object_id).where(
                            ObjectTag.tenant_id == tenant_id, ObjectTag.tag == tag
                        )
                    )
                )
            query, limit = keyset(query, DataObject.name, cursor, limit)
            items = [_object_info(obj, latest, versions=False) for obj, latest in s.execute(query)]
            return page_of(items, limit, lambda o: o.name)

    def get(self, tenant_id: int, name: str) -> ObjectInfo:
        """Return an object's metadata with all its versions."""
        with self.db.session() as s:
            obj = self._object(s, tenant_id, name)
            return _object_info(obj, obj.versions[-1], versions=True)

    def version(self, tenant_id: int, name: str, version: int | None = None) -> VersionInfo:
        """Return one version's metadata (the latest when ``version`` is None)."""
        with self.db.session() as s:
            obj = self._object(s, tenant_id, name)
            number = version if version is not None else obj.latest_version
            row = s.scalar(
                select(ObjectVersion).where(
                    ObjectVersion.object_id == obj.id, ObjectVersion.version == number
                )
            )
            if row is None:
                raise ObjectNotFound(name, version)
            return _version_info(name, row)

    def open(self, tenant_id: int, info: VersionInfo) -> BinaryIO:
        """Open the bytes of a version for reading."""
        try:
            return self.store.open(blob_key(tenant_id, info.sha256))
        except FileNotFoundError as exc:
            raise ObjectNotFound(info.name, info.version) from exc

    def update(
        self,
        tenant_id: int,
        name: str,
        *,
        tags: list[str] | None = None,
        description: str | None = None,
    ) -> ObjectInfo:
        """Replace an object's tags and/or description."""
        if tags is not None:
            for tag in tags:
                check_name("tag", tag)
        with self.db.session() as s:
            obj = self._object(s, tenant_id, name)
            if tags is not None:
                obj.tags.clear()
                s.flush()
                for tag in sorted(set(tags)):
                    obj.tags.append(ObjectTag(tenant_id=tenant_id, object_id=obj.id, tag=tag))
            if description is not None:
                obj.description = description
            obj.updated_at = utcnow()
            s.flush()
            s.refresh(obj)
            return _object_info(obj, obj.versions[-1], versions=True)

    def delete(self, tenant_id: int, name: str) -> None:
        """Delete an object with all its versions, and the bytes nothing else refers to."""
        with self.db.session() as s:
            obj = self._object(s, tenant_id, name)
            digests = {v.sha256 for v in obj.versions}
            s.delete(obj)
        self._drop_unreferenced(tenant_id, digests)

    def _drop_unreferenced(self, tenant_id: int, digests: set[str]) -> None:
        """Delete the blobs among ``digests`` that no version of the tenant refers to."""
        with self.db.session() as s:
            still_used = set(
                s.scalars(
                    select(ObjectVersion.sha256).where(
                        ObjectVersion.tenant_id == tenant_id, ObjectVersion.sha256.in_(digests)
                    )
                )
            )
        for digest in digests - still_used:
            self.store.delete(blob_key(tenant_id, digest))

    @staticmethod
    def _object(s: Session, tenant_id: int, name: str) -> DataObject:
        if not storable(name):
            raise ObjectNotFound(name)
        name = normal_name(name)
        obj = s.scalar(
            select(DataObject)
            .where(DataObject.tenant_id == tenant_id, DataObject.name == name)
            .options(selectinload(DataObject.versions), selectinload(DataObject.tags))
        )
        if obj is None or not obj.versions:
            raise ObjectNotFound(name)
        return obj


def _hold_back(batch: list[Buffer], hold: int) -> bytes:
    """Take the last ``hold`` bytes off ``batch`` (in place) and return them."""
    taken: list[Buffer] = []
    need = hold
    while batch and need:  # only the held bytes are copied, not the pieces they end
        last = memoryview(batch.pop())
        if len(last) > need:
            batch.append(last[: len(last) - need])
            last = last[len(last) - need :]
        taken.append(last)
        need -= len(last)
    return b"".join(reversed(taken))


def _insert(s: Session) -> Any:
    """Return the dialect's INSERT construct, which knows ON CONFLICT DO NOTHING."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _content_type(name: str, given: str | None) -> str:
    if given and given.split(";")[0].strip() not in ("", "application/x-www-form-urlencoded"):
        return given
    guessed, encoding = mimetypes.guess_type(name)
    if encoding == "gzip":
        return "application/gzip"
    return guessed or "application/octet-stream"
