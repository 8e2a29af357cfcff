"""The App Home's reads in the database (core/persistence/home_store.py), on SQLite and PostgreSQL: the open
alerts one person took (not others', not resolved ones), a person's newest audit events on any tenant,
the scan's last tick (recorded by one replica, overwritten by the next, seen by another process), and
migration 0009 rolls back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect

from core import events as ev
from core.alerting.model import Alert
from core.decisions import Situation
from core.domain import Action, AuditEvent
from core.home import ScanTick
from core.persistence import Database, open_database
from core.persistence.database import create_engine
from tests.integration.test_alert_migration import downgrade_to, upgrade_to

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def opened(database: Database, tenant_id: str) -> int:
    alert = await database.alerts.open_alert(Alert(tenant_id, Situation.WEDGED_ORPHANED, "orphaned", T0))
    assert alert is not None and alert.id is not None
    return alert.id


async def test_the_alerts_a_person_took_are_their_open_ones_oldest_claim_first(database: Database) -> None:
    first, second, others, resolved = [await opened(database, t) for t in ("t-1", "t-2", "t-3", "t-4")]
    assert await database.alerts.take(second, "U1", T0 + timedelta(minutes=1), was=None)
    assert await database.alerts.take(first, "U1", T0 + timedelta(minutes=2), was=None)
    assert await database.alerts.take(others, "U2", T0, was=None)
    assert await database.alerts.take(resolved, "U1", T0, was=None)
    assert await database.alerts.resolve(resolved, T0 + timedelta(minutes=3), "completed", None)

    claimed = await database.home.claimed_by("U1", 10)
    assert [(c.tenant_id, c.taken_at) for c in claimed] == [
        ("t-2", T0 + timedelta(minutes=1)),
        ("t-1", T0 + timedelta(minutes=2)),
    ]
    assert [c.alert_id for c in claimed] == [second, first] and claimed[0].reason == "orphaned"
    assert len(await database.home.claimed_by("U1", 1)) == 1
    assert await database.home.claimed_by("U9", 10) == []


async def test_a_persons_last_actions_are_their_newest_events_on_any_tenant(database: Database) -> None:
    await database.tenants.append(
        [
            AuditEvent("t-1", ev.started(Action.RESET), "U1", T0),
            AuditEvent("t-2", ev.started(Action.RETRY), "U1", T0 + timedelta(minutes=2)),
            AuditEvent("t-1", ev.ALERT_CLAIMED, "U1", T0 + timedelta(minutes=1)),
            AuditEvent("t-3", ev.started(Action.CANCEL), "U2", T0 + timedelta(minutes=5)),
        ]
    )
    events = await database.home.actions_by("U1", 2)
    assert [(e.tenant_id, e.type) for e in events] == [("t-2", ev.started(Action.RETRY)), ("t-1", ev.ALERT_CLAIMED)]
    assert await database.home.actions_by("U9", 5) == []


async def test_the_last_scan_tick_is_recorded_once_and_overwritten_and_seen_by_another_process(
    database_url: str, database: Database
) -> None:
    assert await database.home.last_tick() is None
    await asyncio.gather(  # two replicas' first ticks at once: one row, no error
        database.home.record_tick("a", T0, 3), database.home.record_tick("b", T0, 3)
    )
    await database.home.record_tick("b", T0 + timedelta(minutes=1), 1)
    other = await open_database(database_url)
    try:
        assert await other.home.last_tick() == ScanTick(T0 + timedelta(minutes=1), 1)
    finally:
        await other.close()


async def test_0009_can_be_rolled_back(database_url: str) -> None:
    await (await open_database(database_url)).close()
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(downgrade_to, "0008_causes")
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            indexes = await connection.run_sync(lambda c: {i["name"] for i in inspect(c).get_indexes("audit_events")})
            await connection.run_sync(upgrade_to, "head")
    finally:
        await engine.dispose()
    assert "scan_ticks" not in tables and "ix_audit_events_actor_at" not in indexes
