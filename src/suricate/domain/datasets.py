"""Datasets that grow: rows appended to a JSON-lines object, gathered into new versions.

``sdk.append(name, records, key=None)`` (in a processor's handler, or anywhere) adds rows to
the object ``name`` (a ``.jsonl`` object, made on first append). Rows wait in the database and
are written out together as the object's next version once ``SURICATE_APPEND_ROWS`` rows wait
or the oldest has waited ``SURICATE_APPEND_SECONDS``: never one version per message. With a
``key`` (a field of every record), a row whose key was appended before is left out, so a
message handled twice (at-least-once delivery) adds its rows once. A version is written in two
steps, its rows first marked with the new content's sha256: a flush cut short (a server killed
in the middle) is recognised by that digest and completed, never written twice.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from suricate.domain.objects import ObjectService, VersionInfo
from suricate.errors import InvalidInput, ObjectNotFound
from suricate.names import check_name
from suricate.store.db import Database
from suricate.store.tables import AppendedRow, utcnow

log = logging.getLogger(__name__)
SUFFIXES = (".jsonl", ".ndjson")
MAX_RECORDS = 10_000  # per call
MAX_ROW_BYTES = 64 * 1024
MAX_KEY = 255


@dataclass(frozen=True)
class Appended:
    name: str
    accepted: int  # rows added (a key seen before is not)
    pending: int  # rows waiting for the next version


def check_dataset(name: str) -> str:
    """Return ``name`` if rows can be appended to it (a JSON-lines object name)."""
    name = check_name("object", name)
    if not name.lower().endswith(SUFFIXES):
        raise InvalidInput(f"rows are appended to JSON-lines objects: name it {name}.jsonl")
    return name


def _rows(records: Any, key: str | None) -> builtins.list[tuple[str | None, str]]:
    if not isinstance(records, list) or not records:
        raise InvalidInput("records must be a non-empty list")
    if len(records) > MAX_RECORDS:
        raise InvalidInput(f"at most {MAX_RECORDS} records at a time")
    rows = []
    for record in records:
        text = json.dumps(record, separators=(",", ":"), allow_nan=False)
        if len(text) > MAX_ROW_BYTES:
            raise InvalidInput(f"a record is over {MAX_ROW_BYTES} bytes as JSON")
        value = None
        if key is not None:
            if not isinstance(record, dict) or record.get(key) is None:
                raise InvalidInput(f"every record needs the key field {key!r}")
            value = json.dumps(record[key])[:MAX_KEY]
        rows.append((value, text))
    return rows


class DatasetService:
    """Take appended rows, and write them out as new versions when enough have gathered."""

    def __init__(
        self, db: Database, objects: ObjectService, rows_per_version: int, seconds: float
    ) -> None:
        self.db = db
        self.objects = objects
        self.rows_per_version = rows_per_version
        self.seconds = seconds

    def append(self, tenant_id: int, name: str, records: Any, key: str | None = None) -> Appended:
        """Queue rows for the dataset's next version; rows with a key seen before are left out."""
        name = check_dataset(name)
        rows = _rows(records, key)
        accepted = 0
        with self.db.session() as s:
            keys = [k for k, _ in rows if k is not None]
            seen = set()
            if keys:
                seen = set(
                    s.scalars(
                        select(AppendedRow.key).where(
                            AppendedRow.tenant_id == tenant_id,
                            AppendedRow.object_name == name,
                            AppendedRow.key.in_(keys),
                        )
                    )
                )
            now = utcnow()
            for value, text in rows:
                if value is not None and value in seen:
                    continue
                if value is not None:
                    seen.add(value)
                try:
                    with s.begin_nested():  # a key appended meanwhile by another: left out
                        s.add(
                            AppendedRow(
                                tenant_id=tenant_id,
                                object_name=name,
                                key=value,
                                row=text,
                                created_at=now,
                            )
                        )
                    accepted += 1
                except IntegrityError:
                    continue
            pending = self._pending_count(s, tenant_id, name)
        return Appended(name, accepted, pending)

    @staticmethod
    def _pending_count(s: Any, tenant_id: int, name: str) -> int:
        return int(
            s.scalar(
                select(func.count(AppendedRow.id)).where(
                    AppendedRow.tenant_id == tenant_id,
                    AppendedRow.object_name == name,
                    AppendedRow.version.is_(None),
                )
            )
            or 0
        )

    def due(self, now: float | None = None) -> builtins.list[tuple[int, str]]:
        """The datasets whose waiting rows should become a version now."""
        oldest_allowed = (time.time() if now is None else now) - self.seconds
        with self.db.session() as s:
            found = s.execute(
                select(
                    AppendedRow.tenant_id,
                    AppendedRow.object_name,
                    func.count(AppendedRow.id),
                    func.min(AppendedRow.created_at),
                )
                .where(AppendedRow.version.is_(None))
                .group_by(AppendedRow.tenant_id, AppendedRow.object_name)
            ).all()
        return [
            (tenant_id, name)
            for tenant_id, name, count, oldest in found
            if count >= self.rows_per_version or oldest.timestamp() <= oldest_allowed
        ]

    async def flush(self, tenant_id: int, name: str) -> VersionInfo | None:
        """Write the waiting rows out as the dataset's next version (None: nothing waited)."""
        content, batch, ids = await asyncio.to_thread(self._prepare, tenant_id, name)
        if not ids:
            return None

        async def chunks() -> AsyncIterator[bytes]:
            yield content

        version = await self.objects.upload(
            tenant_id, name, chunks(), content_type="application/x-ndjson"
        )
        await asyncio.to_thread(self._written, tenant_id, name, batch, version.version)
        return version

    def _prepare(self, tenant_id: int, name: str) -> tuple[bytes, str, builtins.list[int]]:
        """The next version's bytes, its digest (marked on its rows) and the rows' ids."""
        with self.db.session() as s:
            unfinished = [
                batch
                for batch in s.scalars(
                    select(AppendedRow.batch)
                    .where(
                        AppendedRow.tenant_id == tenant_id,
                        AppendedRow.object_name == name,
                        AppendedRow.version.is_(None),
                        AppendedRow.batch.is_not(None),
                    )
                    .distinct()
                )
                if batch
            ]
        for batch in unfinished:  # a flush cut short: was its version written?
            done = self._version_with(tenant_id, name, batch)
            if done is not None:
                self._written(tenant_id, name, batch, done)
            else:
                self._unmark(tenant_id, name, batch)
        try:
            latest: VersionInfo | None = self.objects.version(tenant_id, name)
        except ObjectNotFound:
            latest = None
        with self.db.session() as s:
            rows = s.execute(
                select(AppendedRow.id, AppendedRow.row)
                .where(
                    AppendedRow.tenant_id == tenant_id,
                    AppendedRow.object_name == name,
                    AppendedRow.version.is_(None),
                )
                .order_by(AppendedRow.id)
                .limit(MAX_RECORDS * 10)
            ).all()
            if not rows:
                return b"", "", []
            before = b""
            if latest is not None:
                with self.objects.open(tenant_id, latest) as f:
                    before = f.read()
                if before and not before.endswith(b"\n"):
                    before += b"\n"
            content = before + "".join(text + "\n" for _, text in rows).encode()
            batch = hashlib.sha256(content).hexdigest()
            ids = [row_id for row_id, _ in rows]
            s.execute(update(AppendedRow).where(AppendedRow.id.in_(ids)).values(batch=batch))
        return content, batch, ids

    def _version_with(self, tenant_id: int, name: str, sha256: str) -> int | None:
        try:
            info = self.objects.get(tenant_id, name)
        except ObjectNotFound:
            return None
        return next((v.version for v in info.versions if v.sha256 == sha256), None)

    def _unmark(self, tenant_id: int, name: str, batch: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(AppendedRow)
                .where(
                    AppendedRow.tenant_id == tenant_id,
                    AppendedRow.object_name == name,
                    AppendedRow.batch == batch,
                    AppendedRow.version.is_(None),
                )
                .values(batch=None)
            )

    def _written(self, tenant_id: int, name: str, batch: str, version: int) -> None:
        """The rows of ``batch`` are in ``version``: keep their keys, drop their payloads."""
        with self.db.session() as s:
            s.execute(
                update(AppendedRow)
                .where(
                    AppendedRow.tenant_id == tenant_id,
                    AppendedRow.object_name == name,
                    AppendedRow.batch == batch,
                )
                .values(version=version, row="")
            )

    async def flush_due(self) -> int:
        """Flush every dataset that is due; return how many versions were written."""
        written = 0
        for tenant_id, name in await asyncio.to_thread(self.due, time.time()):
            try:
                if await self.flush(tenant_id, name) is not None:
                    written += 1
            except Exception:
                log.exception("rows appended to %s (tenant %d) not written yet", name, tenant_id)
        return written
