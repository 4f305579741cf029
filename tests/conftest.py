"""Shared fixtures: a real database (SQLite, and PostgreSQL when reachable), the app, users."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from suricate.server.app import create_app
from suricate.server.platform import Platform
from suricate.settings import Settings
from suricate.store.tables import Base
from tests.servers import LOOPBACK_ALLOWED

POSTGRES_URL = os.environ.get(
    "SURICATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "correct horse battery"


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Create a scratch PostgreSQL database for this test session, migrated once."""
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}; CI must test it")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}")
    name = f"suricate_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    from suricate.store.db import Database

    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Give each test an empty, migrated database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'suricate.db'}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def overrides() -> dict[str, object]:
    """Settings a test module changes (define a fixture of this name there)."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, overrides: dict[str, object]) -> Settings:
    # Tests run their brokers and webhook receivers on loopback, which the outbound guard
    # refuses unless allowed: the tests allow 127.0.0.1 explicitly, as an operator would.
    values: dict[str, object] = {"outbound_allowed_hosts": LOOPBACK_ALLOWED}
    values.update(overrides)
    return Settings(data_dir=tmp_path / "data", database_url=database_url, **values)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    platform = Platform.from_settings(settings)
    platform.start()
    yield platform
    platform.close()


@pytest.fixture
def app_client(platform: Platform) -> Iterator[TestClient]:
    """An ASGI test client without credentials."""
    with TestClient(create_app(platform=platform), raise_server_exceptions=False) as client:
        yield client


MakeUser = Callable[..., TestClient]


@pytest.fixture
def make_user(platform: Platform, app_client: TestClient) -> MakeUser:
    """Create a user in a tenant and return a test client that sends its token."""

    def make(name: str, tenant: str, role: str | None = None) -> TestClient:
        from suricate.domain.tenants import Role

        platform.tenants.create_user(name, PASSWORD, tenant, Role(role) if role else None)
        token, _ = platform.tokens.create(name, "test")
        client = TestClient(app_client.app, raise_server_exceptions=False)
        # Share the app client's event loop (where the lifespan started the kernels) instead
        # of a new loop in a new thread per request.
        client.portal = app_client.portal
        client.headers["Authorization"] = f"Bearer {token}"
        return client

    return make


@pytest.fixture
def alice(make_user: MakeUser) -> TestClient:
    return make_user("alice", "acme")


@pytest.fixture
def bob(make_user: MakeUser) -> TestClient:
    return make_user("bob", "globex")
