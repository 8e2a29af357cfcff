"""Batches on the real dev server: orphaned tenants (their runs deleted, as a cluster reset does) recovered
by one batch, member by member, through the real service over SQLite; interrupted and resumed, stopped,
frozen, a tenant reset by hand meanwhile, and a canary whose retries wedge again."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from core import events as ev
from core.batches import Batch, BatchStatus, Kind, Member, MemberStatus, NewBatch, select
from core.causes import Cause
from core.decisions import Situation
from core.domain import Action
from core.results import Outcome
from core.saga import Fault
from tenantbot.bootstrap import Runtime
from tenantbot.scheduler import ScanSchedule
from tests.integration.temporal.conftest import provision, reach

pytestmark = pytest.mark.temporal
ORPHANED = Situation.WEDGED_ORPHANED
ACTION_EVENTS = tuple(f(a) for a in (Action.RESET, Action.RETRY) for f in (ev.started, ev.completed))


async def orphans(rt: Runtime, tid: str, n: int) -> list[str]:
    """`n` tenants whose first attempt's run was deleted: orphaned handles."""
    ids = [f"{tid}-{i}" for i in range(n)]
    await asyncio.gather(*(provision(rt, t, "orphan") for t in ids))
    await asyncio.gather(*(reach(rt, t, ORPHANED) for t in ids))
    return ids


async def start(rt: Runtime, ids: list[str], kind: Kind = Kind.RESET_RETRY, *, canary: int = 0) -> Batch:
    wedged = {t: (await rt.service.view(t)).assessment for t in ids}
    selection = select(wedged, ORPHANED)
    assert [t for t, _ in selection.members] == sorted(ids)
    new = NewBatch(kind, Cause(ORPHANED), "cluster reset", 50, canary, "U1", datetime.now(UTC), selection.members)
    return await rt.batches.create(new)


async def action_counts(rt: Runtime, tenant_id: str) -> Counter[str]:
    return Counter(e.type for e in await rt.database.tenants.events(tenant_id, 100) if e.type in ACTION_EVENTS)


FIRST = Counter({ev.started(Action.RETRY): 1, ev.completed(Action.RETRY): 1})  # provisioning's first attempt
RESET_ONCE = Counter({ev.started(Action.RESET): 1, ev.completed(Action.RESET): 1})
ONE_EACH = FIRST + FIRST + RESET_ONCE  # after the first attempt: one reset pair, one new attempt


async def test_a_batch_reset_and_retry_recovers_each_member_once_with_its_reason(world: Runtime, tid: str) -> None:
    ids = await orphans(world, tid, 10)
    batch = await start(world, ids, canary=3)
    seen: list[Member] = []

    ended = await world.batches.run(batch.id, lambda _, m: seen.append(m))

    assert ended is not None and ended.status is BatchStatus.FINISHED and ended.canary_passed
    assert ended.count(MemberStatus.DONE) == 10 and [m.tenant_id for m in seen] == sorted(ids)
    for t in ids:
        assert await action_counts(world, t) == ONE_EACH
        tenant = await world.database.tenants.get(t)
        assert tenant is not None and tenant.attempt == 2
        events = await world.database.tenants.events(t, 100)
        audit = [e for e in events if e.type == ev.BATCH_MEMBER]
        assert [(e.details["batch"], e.details["reason"], e.details["outcome"]) for e in audit] == [
            (batch.id, "cluster reset", "done")
        ]
        reset = next(e for e in events if e.type == ev.started(Action.RESET))
        assert (reset.details["batch"], reset.details["reason"]) == (batch.id, "cluster reset")


async def test_a_batch_cut_short_after_acting_resumes_running_no_member_twice(world: Runtime, tid: str) -> None:
    ids = await orphans(world, tid, 6)
    batch = await start(world, ids)
    marks = world.batches.batches.mark
    calls = 0

    async def crash_on_the_third(*args: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # its actions ran; the process dies before the member is marked
            raise asyncio.CancelledError
        await marks(*args)  # type: ignore[arg-type]

    world.batches.batches.mark = crash_on_the_third  # type: ignore[method-assign,assignment]
    with pytest.raises(asyncio.CancelledError):
        await world.batches.run(batch.id)
    world.batches.batches.mark = marks  # type: ignore[method-assign]
    cut = await world.batches.batches.get(batch.id)
    assert cut is not None and cut.status is BatchStatus.RUNNING and cut.count(MemberStatus.DONE) == 2

    ended = await world.batches.run(batch.id)

    assert ended is not None and ended.status is BatchStatus.FINISHED and ended.count(MemberStatus.DONE) == 6
    for t in ids:
        assert await action_counts(world, t) == ONE_EACH
    third = (await world.batches.batches.members(batch.id))[2]
    assert third.why == "reset (already done); retry (already done)"


async def test_stop_ends_the_batch_after_the_member_under_way(world: Runtime, tid: str) -> None:
    ids = await orphans(world, tid, 4)
    batch = await start(world, ids, Kind.RESET)
    store = world.batches.batches
    marks = store.mark

    async def stop_while_the_first_is_marked(*args: object) -> None:
        await marks(*args)  # type: ignore[arg-type]
        await store.request_stop(batch.id, "U2")  # pressed while the first member was under way

    store.mark = stop_while_the_first_is_marked  # type: ignore[method-assign,assignment]
    ended = await world.batches.run(batch.id)

    assert ended is not None and ended.status is BatchStatus.STOPPED and ended.note == "stopped by U2"
    assert ended.count(MemberStatus.DONE) == 1 and ended.count(MemberStatus.WAITING) == 3


async def test_a_freeze_stops_the_batch_and_says_who_froze_it(world: Runtime, tid: str) -> None:
    ids = await orphans(world, tid, 3)
    batch = await start(world, ids, Kind.RESET)
    await world.service.switch.freeze("U9", "database failover")

    ended = await world.batches.run(batch.id)

    assert ended is not None and ended.status is BatchStatus.STOPPED
    assert ended.note is not None and "frozen (read-only) by U9" in ended.note and "database failover" in ended.note
    assert ended.count(MemberStatus.WAITING) == 3
    assert [await action_counts(world, t) for t in ids] == [FIRST] * 3


async def test_a_tenant_reset_by_hand_meanwhile_is_refused_with_why_and_not_touched(world: Runtime, tid: str) -> None:
    ids = await orphans(world, tid, 3)
    batch = await start(world, ids)
    by_hand = sorted(ids)[1]
    assert (await world.service.act(Action.RESET, by_hand, "U3")).outcome is Outcome.DONE

    ended = await world.batches.run(batch.id)

    assert ended is not None and ended.status is BatchStatus.FINISHED
    assert (ended.count(MemberStatus.DONE), ended.count(MemberStatus.REFUSED)) == (2, 1)
    refused = (await world.batches.batches.members(batch.id))[1]
    assert refused.tenant_id == by_hand and refused.why is not None and refused.why.startswith("moved on: now pending")
    assert await action_counts(world, by_hand) == FIRST + RESET_ONCE


async def test_a_canary_whose_retries_wedge_again_stops_the_batch_and_says_so(world: Runtime, tid: str) -> None:
    ids = await orphans(world, tid, 4)
    every_attempt = Fault.parse("orphan")
    world.faults.for_attempt = lambda tenant_id, attempt: every_attempt  # type: ignore[method-assign]
    batch = await start(world, ids, canary=2)

    ended = await asyncio.wait_for(world.batches.run(batch.id), 60)

    assert ended is not None and ended.status is BatchStatus.STOPPED and not ended.canary_passed
    assert ended.note is not None and ended.note.startswith("stopped: canary ") and "wedged again" in ended.note
    assert (ended.count(MemberStatus.DONE), ended.count(MemberStatus.WAITING)) == (2, 2)
    assert [await action_counts(world, t) for t in sorted(ids)[2:]] == [FIRST] * 2


async def test_serve_s_schedule_resumes_a_batch_left_running(world: Runtime, tid: str) -> None:
    ids = await orphans(world, tid, 3)
    batch = await start(world, ids, Kind.RESET)  # recorded, then its process went away before running it
    schedule = ScanSchedule(None, timedelta(seconds=0.2), batches=world.batches).start()
    try:
        for _ in range(100):
            ended = await world.batches.batches.get(batch.id)
            if ended is not None and ended.status is not BatchStatus.RUNNING:
                break
            await asyncio.sleep(0.1)
    finally:
        await schedule.stop()
    assert ended is not None and ended.status is BatchStatus.FINISHED and ended.count(MemberStatus.DONE) == 3
