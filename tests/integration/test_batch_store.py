"""Batches in the database (core/persistence/batch_store.py), on SQLite and PostgreSQL: members in their
order, a member's outcome written once with the batch's counters, a batch ended once, Stop asked once, one
runner per batch (its lease), and migration 0010 rolls back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect

from core import events as ev
from core.batch_runner import BatchRunner
from core.batches import BatchStatus, Kind, MemberStatus, NewBatch
from core.causes import Cause
from core.decisions import Situation
from core.domain import Action, TenantState
from core.persistence import Database
from core.persistence.database import create_engine
from core.ports import EngineError
from core.results import Outcome
from core.service import TenantService
from tests.fakes import FakeEngine
from tests.integration.test_alert_migration import downgrade_to
from tests.integration.test_cli_causes import lost

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ORPHANED = Cause(Situation.WEDGED_ORPHANED, "seed_data")


def new(*members: str, canary: int = 0) -> NewBatch:
    return NewBatch(
        Kind.RESET_RETRY, ORPHANED, "cluster reset", 5.0, canary, "U1", T0, tuple((m, "seed_data") for m in members)
    )


async def test_members_are_read_by_creator_since_a_time_and_by_running_batch(database: Database) -> None:
    """What auto-recovery's daily cap and its exclusions read (core/auto_recovery.py)."""
    old = await database.batches.create(replace(new("a", "b"), created_by="tenantbot:auto", created_at=T0))
    await database.batches.end(old.id, BatchStatus.FINISHED, None, T0)
    later = T0 + timedelta(hours=2)
    await database.batches.create(replace(new("c"), created_by="tenantbot:auto", created_at=later))
    await database.batches.create(replace(new("d", "e"), created_at=later))  # by U1
    assert sorted(await database.batches.members_since("tenantbot:auto", T0)) == ["a", "b", "c"]
    assert await database.batches.members_since("tenantbot:auto", T0 + timedelta(hours=1)) == ["c"]
    assert await database.batches.running_members() == {"c", "d", "e"}


async def test_a_batch_keeps_its_members_in_order_and_counts_each_outcome_once(database: Database) -> None:
    batch = await database.batches.create(new("c", "a", "b"))
    assert (batch.status, batch.situation, batch.step, batch.reason) == (
        BatchStatus.RUNNING,
        Situation.WEDGED_ORPHANED,
        "seed_data",
        "cluster reset",
    )
    assert [m.tenant_id for m in await database.batches.members(batch.id)] == ["c", "a", "b"]

    await database.batches.mark(batch.id, "a", MemberStatus.DONE, "reset; retried", T0)
    await database.batches.mark(batch.id, "a", MemberStatus.FAILED, "a replay", T0)  # changes nothing
    await database.batches.mark(batch.id, "b", MemberStatus.REFUSED, "moved on", T0)

    got = await database.batches.get(batch.id)
    assert got is not None and got.progress() == "2/3 handled: 1 done, 1 refused, 0 failed"
    waiting = await database.batches.members(batch.id, MemberStatus.WAITING)
    assert [m.tenant_id for m in waiting] == ["c"]
    a = (await database.batches.members(batch.id))[1]
    assert (a.status, a.why, a.at) == (MemberStatus.DONE, "reset; retried", T0)


async def test_stop_is_asked_once_and_a_batch_ends_once(database: Database) -> None:
    batch = await database.batches.create(new("a"))
    assert [b.id for b in await database.batches.running()] == [batch.id]
    first = await database.batches.request_stop(batch.id, "U2")
    second = await database.batches.request_stop(batch.id, "U3")
    assert first is not None and second is not None and second.stop_requested_by == "U2"

    await database.batches.end(batch.id, BatchStatus.STOPPED, "stopped by U2", T0)
    await database.batches.end(batch.id, BatchStatus.FINISHED, None, T0)

    ended = await database.batches.get(batch.id)
    assert ended is not None and (ended.status, ended.note) == (BatchStatus.STOPPED, "stopped by U2")
    assert await database.batches.running() == []
    assert await database.batches.request_stop(99, "U2") is None


async def test_a_batch_another_process_holds_is_left_to_it(database: Database) -> None:
    batch = await database.batches.create(new("a"))
    now = datetime.now(UTC)
    assert await database.leases.try_lock(f"batch:{batch.id}", "replica-2", now=now, ttl=timedelta(minutes=1))
    runner = BatchRunner(database.batches, TenantService(database.tenants, FakeEngine()), database.leases, holder="r1")

    assert await runner.run(batch.id) is None
    assert await runner.resume_all() == 0
    untouched = await database.batches.get(batch.id)
    assert untouched is not None and untouched.count(MemberStatus.WAITING) == 1


async def test_0010_rolls_back(database: Database, database_url: str) -> None:
    await database.close()
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(downgrade_to, "0009_home")
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert not {"batches", "batch_members"} & tables


async def test_an_action_the_batch_started_that_failed_before_a_crash_is_not_run_again(database: Database) -> None:
    await database.tenants.add(lost("orphan-1", "seed_data"), [])
    batch = await database.batches.create(new("orphan-1"))
    engine = FakeEngine()
    service = TenantService(database.tenants, engine)
    engine.fail_with, engine.failing = EngineError("engine: no answer within 10 s"), {"terminate"}
    key = batch.request_key("orphan-1", Action.RESET)
    assert (await service.act(Action.RESET, "orphan-1", "U1", request_key=key)).outcome is Outcome.FAILED
    engine.fail_with = None  # the batch's process died there; another resumes it

    ended = await BatchRunner(database.batches, service, database.leases, holder="r2").run(batch.id)

    assert ended is not None and ended.progress() == "1/1 handled: 0 done, 0 refused, 1 failed"
    member = (await database.batches.members(batch.id))[0]
    assert member.why == "reset started by this batch before it was cut short failed: see the audit feed"
    started = [e for e in await database.tenants.events("orphan-1", 50) if e.type == ev.started(Action.RESET)]
    assert len(started) == 1


async def test_a_canary_none_of_whose_members_was_recovered_stops_the_batch_instead_of_passing(
    database: Database,
) -> None:
    for tenant_id in ("moved-1", "moved-2", "orphan-3"):  # the first two were recovered by hand meanwhile
        await database.tenants.add(lost(tenant_id, "seed_data"), [])
    batch = await database.batches.create(new("moved-1", "moved-2", "orphan-3", canary=2))
    for tenant_id in ("moved-1", "moved-2"):
        tenant = await database.tenants.get(tenant_id)
        assert tenant is not None
        await database.tenants.save(replace(tenant, state=TenantState.ACTIVE, handle=None), [])
    service = TenantService(database.tenants, FakeEngine())

    ended = await BatchRunner(database.batches, service, database.leases, holder="r1").run(batch.id)

    assert ended is not None and ended.status is BatchStatus.STOPPED
    assert ended.note is not None and "no canary member was recovered" in ended.note
    assert ended.count(MemberStatus.REFUSED) == 2 and ended.count(MemberStatus.WAITING) == 1  # orphan-3 untouched
