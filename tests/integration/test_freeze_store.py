"""The read-only switch in the database (core/persistence/freeze_store.py), on SQLite and PostgreSQL: what
one process freezes another sees at its next read, flips racing from two processes record one freeze and
lift it once, every freeze stays on record, flipping asks for the open alerts to be shown again, and
migration 0006 rolls back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, inspect, text

from core.alerting.model import Alert
from core.alerting.ports import MessageKind
from core.bounded import bounded_ports
from core.decisions import Situation
from core.domain import Action, Tenant, TenantState
from core.freeze import Freeze, Switch
from core.persistence import Database, open_database
from core.persistence.database import create_engine
from core.results import Outcome, Timeouts
from core.service import TenantService
from tests.fakes import FakeEngine
from tests.integration.test_alert_migration import downgrade_to, upgrade_to

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
async def other(database_url: str, database: Database) -> AsyncIterator[Database]:
    """A second process's view of the same database: its own engine and connection pool."""
    second = await open_database(database_url)
    try:
        yield second
    finally:
        await second.close()


def service_on(database: Database) -> TenantService:
    """The service as the composition root builds it, on this database's stores."""
    store, engine = bounded_ports(database.tenants, FakeEngine(), Timeouts())
    return TenantService(store, engine, switch=Switch(database.freezes, clock=lambda: datetime.now(UTC)))


async def test_a_freeze_is_seen_by_another_process_at_its_next_read_and_so_is_the_unfreeze(
    database: Database, other: Database
) -> None:
    assert await other.freezes.current() is None
    frozen = Freeze("U1", T0, "database failover")
    assert await database.freezes.freeze(frozen) == frozen
    assert await other.freezes.current() == frozen
    assert await other.freezes.unfreeze("cli:bob", T0 + timedelta(minutes=5)) == frozen
    assert await database.freezes.current() is None


async def test_an_action_in_another_process_is_refused_as_soon_as_the_freeze_is_recorded(
    database: Database, other: Database
) -> None:
    await database.tenants.add(Tenant("acme", TenantState.PENDING, T0, last_progress_at=T0), [])
    await service_on(database).switch.freeze("U1", "hands off")
    result = await service_on(other).act(Action.RETRY, "acme", "U5")
    assert result.outcome is Outcome.REFUSED and result.message.startswith("tenantbot is frozen (read-only) by U1")
    [refused] = await other.tenants.events("acme", 5)
    assert refused.type.endswith("action_refused") and refused.details["reason"] == result.message


async def test_two_processes_freezing_at_once_record_one_freeze_and_both_are_told_which(
    database: Database, other: Database
) -> None:
    mine, theirs = Freeze("U1", T0, "mine"), Freeze("U2", T0, "theirs")
    kept = await asyncio.gather(database.freezes.freeze(mine), other.freezes.freeze(theirs))
    assert kept[0] == kept[1] and kept[0] in (mine, theirs)
    assert await database.freezes.current() == kept[0]


async def test_two_processes_unfreezing_at_once_lift_it_once(database: Database, other: Database) -> None:
    await database.freezes.freeze(Freeze("U1", T0, "look first"))
    lifted = await asyncio.gather(database.freezes.unfreeze("U1", T0), other.freezes.unfreeze("U2", T0))
    assert sorted(x is None for x in lifted) == [False, True]
    assert await database.freezes.current() is None


async def test_every_freeze_stays_on_record_with_who_lifted_it(database: Database) -> None:
    for i in range(2):
        await database.freezes.freeze(Freeze("U1", T0 + timedelta(hours=i), f"incident {i}"))
        await database.freezes.unfreeze("cli:bob", T0 + timedelta(hours=i, minutes=30))
    await database.freezes.freeze(Freeze("U2", T0 + timedelta(hours=2), "incident 2"))
    async with database.engine.connect() as connection:
        rows = await connection.execute(text("SELECT reason, unfrozen_by FROM freezes ORDER BY frozen_at"))
        assert [tuple(r) for r in rows] == [("incident 0", "cli:bob"), ("incident 1", "cli:bob"), ("incident 2", None)]


async def test_flipping_the_switch_asks_for_every_posted_open_alert_to_be_shown_again(database: Database) -> None:
    alerts = database.alerts
    opened = [await alerts.open_alert(Alert(f"t{i}", Situation.WEDGED_ORPHANED, "gone", T0)) for i in range(4)]
    digest = await alerts.open_digest(T0)
    member = await alerts.open_alert(Alert("t9", Situation.WEDGED_ORPHANED, "gone", T0, digest_id=digest.id))
    ids = [a.id for a in opened if a is not None and a.id is not None]
    assert len(ids) == 4 and member is not None and member.id is not None
    for key in ids[:3]:  # t0, t1 and t2 posted; t3 never posted (it is rendered when it is)
        assert await alerts.claim("alert", key, "scan", now=T0, ttl=timedelta(minutes=5), unposted=True)
        await alerts.mark_posted("alert", key, "scan", f"C1/{key}", 0)
    assert await alerts.claim("digest", digest.id, "scan", now=T0, ttl=timedelta(minutes=5), unposted=True)
    await alerts.mark_posted("digest", digest.id, "scan", "C1/99", 0)
    await alerts.resolve(ids[2], T0, "reset_completed by U1", None)  # t2 resolved: shown as resolved already
    await alerts.claim("alert", ids[2], "scan", now=T0, ttl=timedelta(minutes=5), unposted=False)
    await alerts.mark_delivered("alert", ids[2], "scan", revision=1, reply=None, failed=False)

    await database.freezes.freeze(Freeze("U1", T0, "look first"))
    assert sorted(m.tenant_id if isinstance(m, Alert) else "digest" for m in await alerts.undelivered()) == [
        "digest",
        "t0",
        "t1",
    ]
    for message in await alerts.undelivered():  # the scan shows them frozen
        kind: MessageKind = "alert" if isinstance(message, Alert) else "digest"
        assert message.id is not None
        await alerts.claim(kind, message.id, "scan", now=T0, ttl=timedelta(minutes=5), unposted=False)
        await alerts.mark_delivered(kind, message.id, "scan", revision=message.revision, reply=None, failed=False)
    await database.freezes.unfreeze("U1", T0)
    assert len(await alerts.undelivered()) == 3  # and shown again without the freeze


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_0006_adds_the_switch_and_rolls_back(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to, "0005")
            assert "freezes" not in await connection.run_sync(tables)
        database = await open_database(database_url)  # migrates to head
        try:
            await database.freezes.freeze(Freeze("U1", T0, "look first"))
            assert await database.freezes.current() == Freeze("U1", T0, "look first")
        finally:
            await database.close()
        async with engine.begin() as connection:
            await connection.run_sync(downgrade_to, "0005")
            assert "freezes" not in await connection.run_sync(tables)
            await connection.run_sync(upgrade_to, "head")
    finally:
        await engine.dispose()
