"""The services tests run against (PostgreSQL, RabbitMQ, Mosquitto, Chromium): where they are,
whether they are up, and the rule when one is not: skipped locally, failing under CI."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "SURICATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RABBITMQ = os.environ.get("SURICATE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")
MQTT = os.environ.get("SURICATE_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def require(condition: bool, why: str) -> None:
    """Skip the test when something it needs is missing; under CI, fail it instead."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must test it")
        pytest.skip(why)


def postgres_reachable() -> bool:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own, dropped afterwards; its URL."""
    require(postgres_reachable(), f"PostgreSQL is not reachable at {POSTGRES_URL}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rabbitmq_reachable(url: str) -> bool:
    import aio_pika

    async def probe() -> None:
        connection = await aio_pika.connect(url, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
        return True
    except Exception:
        return False


def mqtt_reachable() -> bool:
    where = urlsplit(MQTT)
    try:
        with socket.create_connection((where.hostname or "127.0.0.1", where.port or 1883), 3):
            return True
    except OSError:
        return False
