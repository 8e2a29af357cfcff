"""Migration 0002 on a database that already has alerts: a digest posted before it becomes a digest row."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from core.persistence import MIGRATIONS, open_database
from core.persistence.database import create_engine

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def upgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def alerts_posted_before_0002(database_url: str) -> None:
    """Three alerts recorded under 0001: two posted as one digest (C1/5), one on its own (C1/6)."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to, "0001")
            for i, (ref, in_digest) in enumerate([("C1/5", True), ("C1/5", True), ("C1/6", False)]):
                await connection.execute(
                    text(
                        "INSERT INTO alerts (tenant_id, situation, reason, opened_at, message_ref, in_digest) "
                        "VALUES (:t, 'wedged_orphaned', 'gone', :at, :ref, :d)"
                    ),
                    {"t": f"t{i}", "at": T0.replace(tzinfo=None), "ref": ref, "d": in_digest},
                )
    finally:
        await engine.dispose()


async def test_alerts_posted_as_one_digest_before_0002_keep_their_digest(database_url: str) -> None:
    await alerts_posted_before_0002(database_url)
    database = await open_database(database_url)
    store = database.alerts
    try:
        alerts = {a.tenant_id: a for a in await store.open_alerts()}
        assert alerts["t0"].digest_id is not None and alerts["t0"].digest_id == alerts["t1"].digest_id
        assert alerts["t2"].digest_id is None and alerts["t2"].revision == 0
        digest = await store.digest(alerts["t0"].digest_id)
        assert digest is not None and digest.message_ref == "C1/5"
        assert [m.tenant_id for m in await store.digest_members(digest.id)] == ["t0", "t1"]
    finally:
        await database.close()


def downgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_0002_can_be_rolled_back_keeping_which_alerts_were_in_a_digest(database_url: str) -> None:
    await alerts_posted_before_0002(database_url)
    await (await open_database(database_url)).close()  # migrates to head
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(downgrade_to, "0001")
            rows = await connection.execute(text("SELECT tenant_id, in_digest FROM alerts ORDER BY tenant_id"))
            assert [(t, bool(d)) for t, d in rows] == [("t0", True), ("t1", True), ("t2", False)]
            await connection.run_sync(upgrade_to, "head")
    finally:
        await engine.dispose()
