"""A database left at an old revision with rows in it, and a look at it rolled back: for migration tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from core.persistence import open_database
from core.persistence.database import create_engine
from tests.integration.test_alert_migration import downgrade_to, upgrade_to

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def seeded(database_url: str, revision: str, statement: str) -> None:
    """Migrate an empty database to `revision` only and run `statement` (`:t` is T0, naive, as stored)."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to, revision)
            await connection.execute(text(statement), {"t": T0.replace(tzinfo=None)})
    finally:
        await engine.dispose()


async def rolled_back(database_url: str, revision: str, query: str) -> Sequence[tuple[Any, ...]]:
    """Migrate to head, roll back to `revision`, run `query` there, then upgrade to head again."""
    await (await open_database(database_url)).close()
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(downgrade_to, revision)
            rows = [tuple(row) for row in await connection.execute(text(query))]
            await connection.run_sync(upgrade_to, "head")
    finally:
        await engine.dispose()
    return rows
