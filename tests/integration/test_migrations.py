"""Migrations: applied at start, idempotent, and in agreement with the models on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from core.persistence import migrate, open_database
from core.persistence.database import create_engine
from core.persistence.orm import Base


async def test_opening_an_empty_database_creates_the_schema_and_reopening_changes_nothing(database_url: str) -> None:
    database = await open_database(database_url)
    await database.close()
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            version = (await connection.exec_driver_sql("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        await engine.dispose()
    assert {"tenants", "allocations", "audit_events", "request_keys", "alerts", "locks", "announcements"} <= tables
    assert {"freezes", "decommission_requests", "scan_ticks", "batches", "batch_members"} <= tables
    assert version == "0012_announced_behalf"


async def test_the_migrations_and_the_models_agree(database_url: str) -> None:
    await (await open_database(database_url)).close()
    engine = create_engine(database_url)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []
