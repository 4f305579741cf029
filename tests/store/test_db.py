"""The migrations create exactly the schema the models describe, on every database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from suricate.server.platform import Platform
from suricate.store.tables import Base


def test_migrations_match_the_models(platform: Platform) -> None:
    with platform.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_schema_is_at_head_after_start(platform: Platform) -> None:
    assert platform.db.current_revision() == platform.db.head_revision()
    platform.db.upgrade()  # a second start changes nothing
    assert platform.db.current_revision() == platform.db.head_revision()
