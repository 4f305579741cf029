"""Shared fixtures: a real database (SQLite, and PostgreSQL when reachable), the app, users.

Settings: every test that uses the database runs on SQLite and on PostgreSQL, with the default
settings. A module, class or test changes that with markers:

    pytestmark = [pytest.mark.sqlite_only("kernels do not touch the database"),
                  pytest.mark.settings(kernel_pool_size=1)]

(closer markers win), or, for settings that depend on another fixture, by overriding `settings`
with `make_settings(**values)`. Real server processes and RabbitMQ come from tests/support.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from suricate.server.app import create_app
from suricate.server.platform import Platform
from suricate.settings import Settings
from suricate.store.tables import Base
from tests.support import LOOPBACK_ALLOWED, PASSWORD
from tests.support.services import scratch_postgres

pytest_plugins = ["tests.support.servers", "tests.support.rabbit"]

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_configure(config: pytest.Config) -> None:
    # Servers note themselves for the CLI in $XDG_CONFIG_HOME: the tests' servers, in a folder
    # of this run's, never in the user's own config (and no test finds another's server).
    config_home = Path(tempfile.mkdtemp(prefix="suricate-test-config-"))
    os.environ["XDG_CONFIG_HOME"] = str(config_home)
    config.add_cleanup(lambda: shutil.rmtree(config_home, ignore_errors=True))
    config.addinivalue_line(
        "markers", "sqlite_only(why): run on SQLite alone, not once per database"
    )
    config.addinivalue_line(
        "markers", "settings(**values): settings of the test's platform other than the defaults"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that uses the database once per database, unless marked sqlite_only."""
    if "database_url" in metafunc.fixturenames and not metafunc.definition.get_closest_marker(
        "sqlite_only"
    ):
        metafunc.parametrize("database_url", DATABASES, indirect=True)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Create a scratch PostgreSQL database for this test session, migrated once."""
    with scratch_postgres("suricate_test") as url:
        from suricate.store.db import Database

        db = Database(url)
        db.upgrade()
        db.dispose()
        yield url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Give each test an empty, migrated database of each kind."""
    if getattr(request, "param", "sqlite") == "sqlite":
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
def make_settings(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    """Settings on the test's data dir and database, with the values given."""

    def make(**values: Any) -> Settings:
        # Tests run their brokers and webhook receivers on loopback, which the outbound guard
        # refuses unless allowed: the tests allow 127.0.0.1 explicitly, as an operator would.
        values = {"outbound_allowed_hosts": LOOPBACK_ALLOWED, **values}
        return Settings(data_dir=tmp_path / "data", database_url=database_url, **values)

    return make


@pytest.fixture
def settings(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> Settings:
    values: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("settings"))):  # the closest last
        values |= marker.kwargs
    return make_settings(**values)


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
