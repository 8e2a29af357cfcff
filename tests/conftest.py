"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable), the real stores on them, and a
PostgreSQL behind a proxy that can go silent."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import make_url

from core.persistence import Database, SqlAlertStore, SqlLeases, SqlTenantStore, open_database
from tests.silent_proxy import SilentProxy

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", PG_DEFAULT)


def postgres_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2).close()
    except OSError:
        return False
    return True


def require_postgres() -> str:
    """The PostgreSQL URL, or skip (fail under CI=true, where PostgreSQL is part of the contract)."""
    url = postgres_url()
    if not postgres_reachable(url):
        message = f"PostgreSQL not reachable at {url} (set TEST_DATABASE_URL)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = require_postgres()
    yield from _fresh_schema(base)


@dataclass
class SilentPostgres:
    """A fresh PostgreSQL schema reached through a proxy that can go silent (`proxy.silent = True`)."""

    proxy: SilentProxy
    url: str


@pytest.fixture
async def silent_postgres() -> AsyncIterator[SilentPostgres]:
    schemas = _fresh_schema(require_postgres())
    url = next(schemas)
    parsed = make_url(url)
    proxy = await SilentProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
    try:
        yield SilentPostgres(proxy, parsed.set(port=proxy.port).render_as_string(hide_password=False))
    finally:
        await proxy.stop()
        next(schemas, None)


def _fresh_schema(base: str) -> Iterator[str]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = await open_database(database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def store(database: Database) -> SqlTenantStore:
    """The database's tenant store."""
    return database.tenants


@pytest.fixture
def alerts(database: Database) -> SqlAlertStore:
    return database.alerts


@pytest.fixture
def leases(database: Database) -> SqlLeases:
    return database.leases
