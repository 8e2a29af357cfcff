"""Migration 0005 on a database holding audit events: the feed is indexed by time, and 0005 rolls back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, inspect, text

from core.persistence import open_database
from core.persistence.database import create_engine
from tests.integration.test_alert_migration import downgrade_to, upgrade_to

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def indexes(connection: Connection) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table in ("audit_events", "request_keys"):
        found.update(
            {str(i["name"]): [str(c) for c in i["column_names"]] for i in inspect(connection).get_indexes(table)}
        )
    return found


async def test_0005_indexes_an_existing_feed_by_time_and_rolls_back(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to, "0004")
            await connection.execute(
                text(
                    "INSERT INTO tenants (id, state, attempt, created_at, updated_at, version) "
                    "VALUES ('acme', 'active', 1, :t, :t, 1)"
                ),
                {"t": T0.replace(tzinfo=None)},
            )
            for i in range(3):
                await connection.execute(
                    text(
                        "INSERT INTO audit_events (tenant_id, type, actor, at, details) "
                        "VALUES ('acme', :type, 'U1', :t, '{}')"
                    ),
                    {"type": f"tenant.provisioning.step_{i}", "t": T0.replace(tzinfo=None, second=i)},
                )
            before = await connection.run_sync(indexes)
        database = await open_database(database_url)  # migrates to head
        try:
            feed = await database.tenants.history("acme", limit=5)
            assert [e.type[-6:] for e in feed] == ["step_2", "step_1", "step_0"]
        finally:
            await database.close()
        async with engine.begin() as connection:
            after = await connection.run_sync(indexes)
            await connection.run_sync(downgrade_to, "0004")
            rolled_back = await connection.run_sync(indexes)
            await connection.run_sync(upgrade_to, "head")
    finally:
        await engine.dispose()
    assert before == {"ix_audit_events_tenant": ["tenant_id", "id"]}
    assert after == {
        "ix_audit_events_tenant_at": ["tenant_id", "at", "id"],
        "ix_audit_events_at": ["at", "id"],
        "ix_request_keys_at": ["at"],
        "ix_audit_events_actor_at": ["actor", "at", "id"],  # 0009: the App Home's "your last actions"
    }
    assert rolled_back == before
