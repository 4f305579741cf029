"""The composition root: the stores and services one Suricate installation runs on."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from suricate.auth import TokenService
from suricate.blobstore import LocalObjectStore
from suricate.db import Database
from suricate.notebooks import NotebookService
from suricate.objects import ObjectService
from suricate.settings import Settings
from suricate.tenants import TenantService

log = logging.getLogger(__name__)


@dataclass
class Platform:
    """Everything a request or a CLI command needs, built once from the settings."""

    settings: Settings
    db: Database
    store: LocalObjectStore
    tenants: TenantService
    tokens: TokenService
    objects: ObjectService
    notebooks: NotebookService

    @classmethod
    def from_settings(cls, settings: Settings) -> Platform:
        """Build the platform; nothing touches the database until asked."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        store = LocalObjectStore(settings.objects_dir)
        return cls(
            settings=settings,
            db=db,
            store=store,
            tenants=TenantService(db),
            tokens=TokenService(db),
            objects=ObjectService(db, store, settings.max_upload_bytes),
            notebooks=NotebookService(db),
        )

    def start(self) -> None:
        """Migrate the schema to the latest revision."""
        self.db.upgrade()

    def start_serving(self) -> None:
        """Start as the one server of this data dir: migrate, lock, clear half-written uploads."""
        if getattr(self, "_lock", None) is not None:
            return
        self.start()
        self._lock = self.store.lock()
        cleared = self.store.clear_staging()
        if cleared:
            log.warning("removed %d half-written uploads left by an earlier run", cleared)

    def close(self) -> None:
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()
        self.db.dispose()
