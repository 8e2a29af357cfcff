"""Announcements and alert owners in the database (core/persistence/announcement_store.py), on SQLite and
PostgreSQL: two processes reading the same feed record each action once and post it once, a line goes to
the alert that was open when the action ran, one mention per alert however many processes ask, two
people taking one alert at once leave one owner, and migration 0007 rolls back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, inspect

from core import events as ev
from core.alerting.announcements import ANNOUNCED, Announcer
from core.alerting.model import Alert
from core.decisions import Situation
from core.domain import Action, AuditEvent
from core.persistence import Database, open_database
from core.persistence.database import create_engine
from tests.alert_fakes import RecordingNotifier
from tests.integration.test_alert_migration import downgrade_to, upgrade_to

T0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


@pytest.fixture
async def other(database_url: str, database: Database) -> AsyncIterator[Database]:
    """A second process's view of the same database: its own engine and connection pool."""
    second = await open_database(database_url)
    try:
        yield second
    finally:
        await second.close()


def started(tenant_id: str, action: Action, actor: str, at: datetime, **details: object) -> AuditEvent:
    return AuditEvent(tenant_id, ev.started(action), actor, at, dict(details))


async def posted_alert(database: Database, tenant_id: str, opened_at: datetime, ref: str) -> Alert:
    alert = await database.alerts.open_alert(Alert(tenant_id, Situation.WEDGED_NO_PROGRESS, "stuck", opened_at))
    assert alert is not None and alert.id is not None
    await database.alerts.claim("alert", alert.id, "h", now=opened_at, ttl=timedelta(minutes=5), unposted=True)
    await database.alerts.mark_posted("alert", alert.id, "h", ref, 0)
    return alert


async def test_two_processes_reading_the_same_feed_record_and_post_each_action_once(
    database: Database, other: Database
) -> None:
    await database.tenants.append([started(f"t{i}", Action.RESET, "U1", T0 + timedelta(seconds=i)) for i in range(5)])
    await database.tenants.append([AuditEvent("t0", ev.ALERT_SNOOZED, "U1", T0)])  # not an action
    slack = RecordingNotifier()
    clock = lambda: T0 + timedelta(minutes=1)  # noqa: E731
    one = Announcer(database.announcements, database.alerts, slack, holder="one", clock=clock)
    two = Announcer(other.announcements, other.alerts, slack, holder="two", clock=clock)
    recorded = await asyncio.gather(one.record(), two.record(), one.record())
    assert sum(recorded) == 5
    posted = await asyncio.gather(one.deliver(), two.deliver())
    assert sum(posted) == 5 and sorted(t for k, t in slack.sent if k == "announce") == [
        f"channel: U1 reset t{i}" for i in range(5)
    ]
    assert await one.run() == 0 and await two.run() == 0


async def test_an_action_goes_to_the_alert_open_when_it_ran_with_its_reason(database: Database) -> None:
    old = await posted_alert(database, "acme", T0 - timedelta(hours=2), "C1/1")
    assert old.id is not None
    await database.alerts.resolve(old.id, T0 - timedelta(hours=1), "progress", None)
    current = await posted_alert(database, "acme", T0 - timedelta(minutes=30), "C1/2")
    await database.tenants.append(
        [
            started("acme", Action.CANCEL, "cli:alice", T0, reason="customer asked", on_behalf_of="U7"),
            started("other", Action.RETRY, "U2", T0),
        ]
    )
    assert await database.announcements.record_actions(ANNOUNCED, T0 - timedelta(minutes=5), 10) == 2
    acme, other = await database.announcements.pending(10)
    assert (acme.alert_id, acme.action, acme.actor, acme.reason, acme.on_behalf_of) == (
        current.id,
        "cancel",
        "cli:alice",
        "customer asked",
        "U7",  # the CLI's --actor
    )
    assert (other.alert_id, other.action, other.reason, other.on_behalf_of) == (None, "retry", None, None)


async def test_the_actions_of_a_batchs_members_are_recorded_but_not_posted_one_by_one(database: Database) -> None:
    await database.tenants.append(
        [
            started("m1", Action.RESET, "U1", T0, batch=7, reason="cluster reset"),
            started("m2", Action.RETRY, "U1", T0, batch=7, reason="cluster reset"),
            started("solo", Action.RESET, "U1", T0),
        ]
    )
    assert await database.announcements.record_actions(ANNOUNCED, T0 - timedelta(minutes=5), 10) == 3
    assert [a.tenant_id for a in await database.announcements.pending(10)] == ["solo"]
    assert await database.announcements.record_actions(ANNOUNCED, T0 - timedelta(minutes=5), 10) == 0


async def test_an_alert_is_mentioned_once_however_many_processes_ask(database: Database, other: Database) -> None:
    alert = await posted_alert(database, "acme", T0, "C1/1")
    taken = await posted_alert(database, "beta", T0, "C1/2")
    assert taken.id is not None and await database.alerts.take(taken.id, "U5", T0, was=None)
    late = T0 + timedelta(minutes=16)
    counts = await asyncio.gather(
        database.announcements.record_mentions(T0 + timedelta(minutes=1), late, "S0ONCALL"),
        other.announcements.record_mentions(T0 + timedelta(minutes=1), late, "S0ONCALL"),
    )
    assert sum(counts) == 1
    [line] = await database.announcements.pending(10)
    assert (line.alert_id, line.actor, line.mention) == (alert.id, "S0ONCALL", True)


async def test_two_people_taking_one_alert_at_once_leave_one_owner(database: Database, other: Database) -> None:
    alert = await posted_alert(database, "acme", T0, "C1/1")
    assert alert.id is not None
    won = await asyncio.gather(
        database.alerts.take(alert.id, "U5", T0, was=None), other.alerts.take(alert.id, "U6", T0, was=None)
    )
    assert sorted(won) == [False, True]
    fresh = await database.alerts.alert(alert.id)
    assert fresh is not None and fresh.owner == ("U5" if won[0] else "U6") and fresh.revision == 1


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_0007_adds_owners_and_announcements_and_rolls_back(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to, "0006_freeze")
            assert "announcements" not in await connection.run_sync(tables)
        database = await open_database(database_url)  # migrates to head
        try:
            alert = await posted_alert(database, "acme", T0, "C1/1")
            assert alert.id is not None and await database.alerts.take(alert.id, "U5", T0, was=None)
        finally:
            await database.close()
        async with engine.begin() as connection:
            await connection.run_sync(downgrade_to, "0006_freeze")
            assert "announcements" not in await connection.run_sync(tables)
            columns = await connection.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("alerts")})
            assert "owner" not in columns and "resolution" in columns
            await connection.run_sync(upgrade_to, "head")
    finally:
        await engine.dispose()
