"""Two-person Decommission (core/approvals.py) on the real stores, SQLite and PostgreSQL: a request is recorded
once with its reason, another person allowed to Decommission approves it within APPROVAL_TTL and it runs once
(also when two approve at the same moment), the requester's own approval, an expired, denied or used request,
and an approval while frozen are refused and audited, the tenant is re-checked at approval, and migration 0007
rolls back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, inspect

from core.approval_requests import RequestState
from core.approvals import ApprovalResult, Approvals
from core.authz import AllowList, Authorizer, Policy
from core.bounded import BoundedApprovals, bounded_ports
from core.decisions import Situation
from core.domain import Action, TenantState
from core.freeze import Switch
from core.persistence import Database, open_database
from core.persistence.database import create_engine
from core.ports import EngineError
from core.presses import Presses
from core.results import ActionResult, Outcome, Timeouts
from core.seen import Seen
from core.service import TenantService
from core.submissions import Submissions
from tests.e2e.situations import make
from tests.fakes import FakeDirectory, FakeEngine
from tests.integration.test_alert_migration import downgrade_to, upgrade_to

DECOMMISSIONERS = AllowList(users=frozenset({"U1", "U2", "U3"}))
POLICY = Policy({Action.DECOMMISSION: DECOMMISSIONERS, Action.RETRY: AllowList(everyone=True)})
TTL = timedelta(minutes=30)


@dataclass
class Clock:
    """Real time, moved forward by `skip` (requests expire without waiting)."""

    skip: timedelta = field(default=timedelta(0))

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skip


@dataclass
class World:
    database: Database
    engine: FakeEngine
    approvals: Approvals
    clock: Clock

    async def types(self, tenant_id: str) -> list[str]:
        events = await self.database.tenants.events(tenant_id, 50)
        return [e.type.removeprefix("tenant.provisioning.") for e in reversed(events)]

    def decommissions(self) -> int:
        return len([c for c, _ in self.engine.calls if c == "decommission"])


@pytest.fixture
def world(database: Database) -> World:
    clock, engine = Clock(), FakeEngine()
    store, bounded_engine = bounded_ports(database.tenants, engine, Timeouts())
    switch = Switch(database.freezes, clock=clock)
    service = TenantService(store, bounded_engine, clock=clock, switch=switch)
    authorizer = Authorizer(POLICY, FakeDirectory())
    approvals_store = BoundedApprovals(database.approvals, timedelta(seconds=2))
    return World(database, engine, Approvals(service, authorizer, approvals_store, ttl=TTL, clock=clock), clock)


async def requested(world: World, tenant_id: str = "acme", requester: str = "U1") -> int:
    await make(world.database.tenants, world.engine, tenant_id, Situation.FAILED_CLEANLY)
    asked = await world.approvals.request(tenant_id, requester, "customer churned", "C1", f"{requester}:press:1")
    assert asked.outcome is Outcome.DONE and asked.request is not None and asked.request.id is not None
    return asked.request.id


async def test_a_request_is_recorded_once_with_its_reason_and_expiry_and_nothing_runs(world: World) -> None:
    request_id = await requested(world)
    again = await world.approvals.request("acme", "U1", "customer churned", "C1", "U1:press:1")  # redelivered
    assert again.outcome is Outcome.DUPLICATE and again.request is not None and again.request.id == request_id
    [event] = [e for e in await world.database.tenants.events("acme", 10) if e.type.endswith("requested")]
    assert event.type == "tenant.provisioning.decommission_requested" and event.actor == "U1"
    assert event.details["reason"] == "customer churned" and event.details["approval_request"] == request_id
    stored = await world.database.approvals.get(request_id)
    assert stored is not None and stored.state is RequestState.PENDING and stored.origin_channel == "C1"
    assert stored.expires_at - stored.requested_at == TTL
    assert world.decommissions() == 0


async def test_a_request_by_someone_who_may_not_decommission_is_refused_and_audited(world: World) -> None:
    await make(world.database.tenants, world.engine, "acme", Situation.FAILED_CLEANLY)
    asked = await world.approvals.request("acme", "U9", "because", "C1", "U9:1")
    assert asked.outcome is Outcome.REFUSED and "not on the list of people allowed to decommission" in asked.message
    assert await world.types("acme") == ["action_refused"]


async def test_a_request_the_decision_table_does_not_allow_now_is_refused_with_why(world: World) -> None:
    await make(world.database.tenants, world.engine, "acme", Situation.MAKING_PROGRESS)
    asked = await world.approvals.request("acme", "U1", "because", "C1", "U1:1")
    assert asked.outcome is Outcome.REFUSED and asked.message.startswith("Decommission is not allowed now")
    assert await world.types("acme") == ["action_refused"]


async def test_an_empty_reason_given_is_refused_before_anything_is_recorded(world: World) -> None:
    await make(world.database.tenants, world.engine, "acme", Situation.FAILED_CLEANLY)
    asked = await world.approvals.request("acme", "U1", "  ", "C1", "U1:1")
    assert asked.outcome is Outcome.REFUSED and "needs a reason" in asked.message
    assert await world.types("acme") == []


async def test_another_person_approves_and_the_decommission_runs_once_under_the_request(world: World) -> None:
    request_id = await requested(world)
    approved = await world.approvals.approve(request_id, "U2", "U2:press:7")
    assert approved.outcome is Outcome.DONE and approved.message.startswith("decommission started")
    assert await world.types("acme") == ["decommission_requested", "decommission_approved", "decommission_started"]
    events = await world.database.tenants.events("acme", 10)
    started = next(e for e in events if e.type.endswith("decommission_started"))
    assert started.actor == "U2" and started.details["requested_by"] == "U1"
    assert started.details["reason"] == "customer churned" and started.details["approval_request"] == request_id
    stored = await world.database.approvals.get(request_id)
    assert stored is not None and (stored.state, stored.decided_by) == (RequestState.APPROVED, "U2")
    assert stored.outcome is not None and stored.outcome.startswith("done: decommission started")
    assert world.decommissions() == 1


async def test_the_requesters_own_approval_is_refused_audited_and_leaves_the_request_open(world: World) -> None:
    request_id = await requested(world)
    own = await world.approvals.approve(request_id, "U1", "U1:press:2")
    assert own.outcome is Outcome.REFUSED and "another person allowed to Decommission must approve" in own.message
    refused = next(e for e in await world.database.tenants.events("acme", 10) if e.type.endswith("action_refused"))
    assert refused.actor == "U1" and refused.details["approval_request"] == request_id
    stored = await world.database.approvals.get(request_id)
    assert stored is not None and stored.state is RequestState.PENDING and world.decommissions() == 0


async def test_an_approver_not_allowed_to_decommission_is_refused(world: World) -> None:
    request_id = await requested(world)
    result = await world.approvals.approve(request_id, "U9", "U9:press:2")
    assert result.outcome is Outcome.REFUSED and "allowed to decommission" in result.message
    assert world.decommissions() == 0


async def test_two_approvers_pressing_at_once_run_it_once_and_the_other_is_told_who_did(world: World) -> None:
    request_id = await requested(world)
    first, second = await asyncio.gather(
        world.approvals.approve(request_id, "U2", "U2:press:1"), world.approvals.approve(request_id, "U3", "U3:press:1")
    )
    outcomes = sorted([first.outcome, second.outcome])
    assert outcomes == sorted([Outcome.DONE, Outcome.REFUSED])
    loser = first if first.outcome is Outcome.REFUSED else second
    assert "already approved by U" in loser.message
    assert world.decommissions() == 1
    assert (await world.types("acme")).count("decommission_started") == 1


async def test_a_redelivered_approval_press_is_a_duplicate_and_runs_nothing_more(world: World) -> None:
    request_id = await requested(world)
    await world.approvals.approve(request_id, "U2", "U2:press:1")
    again = await world.approvals.approve(request_id, "U2", "U2:press:1")
    assert again.outcome is Outcome.DUPLICATE and world.decommissions() == 1
    assert "action_refused" not in await world.types("acme")


async def test_an_expired_request_cannot_run_is_audited_and_stays_expired(world: World) -> None:
    request_id = await requested(world)
    world.clock.skip = TTL + timedelta(seconds=1)
    late = await world.approvals.approve(request_id, "U2", "U2:press:1")
    assert late.outcome is Outcome.REFUSED and "expired at" in late.message and "APPROVAL_TTL" in late.message
    assert late.request is not None and late.request.state is RequestState.EXPIRED
    world.clock.skip = timedelta(0)  # even if the clock went back, the request stays used up
    again = await world.approvals.approve(request_id, "U3", "U3:press:1")
    assert again.outcome is Outcome.REFUSED and "expired" in again.message
    assert (await world.types("acme")).count("action_refused") == 2 and world.decommissions() == 0


async def test_a_denied_request_cannot_be_approved(world: World) -> None:
    request_id = await requested(world)
    denied = await world.approvals.deny(request_id, "U2")
    assert denied.outcome is Outcome.DONE and denied.request is not None
    assert (denied.request.state, denied.request.decided_by) == (RequestState.DENIED, "U2")
    late = await world.approvals.approve(request_id, "U3", "U3:press:1")
    assert late.outcome is Outcome.REFUSED and "denied by U2" in late.message
    assert await world.types("acme") == ["decommission_requested", "decommission_denied", "action_refused"]
    assert world.decommissions() == 0


async def test_the_requester_may_withdraw_but_a_stranger_may_not_deny(world: World) -> None:
    request_id = await requested(world)
    stranger = await world.approvals.deny(request_id, "U9")
    assert stranger.outcome is Outcome.REFUSED and "allowed to decommission" in stranger.message
    withdrawn = await world.approvals.deny(request_id, "U1")
    assert withdrawn.outcome is Outcome.DONE


async def test_an_approval_while_frozen_is_refused_and_the_request_waits_for_the_unfreeze(world: World) -> None:
    request_id = await requested(world)
    switch = world.approvals.service.switch
    await switch.freeze("cli:alice", "database failover")
    frozen = await world.approvals.approve(request_id, "U2", "U2:press:1")
    assert frozen.outcome is Outcome.REFUSED and "frozen (read-only) by cli:alice" in frozen.message
    assert world.decommissions() == 0
    await switch.unfreeze("cli:alice")
    later = await world.approvals.approve(request_id, "U2", "U2:press:2")
    assert later.outcome is Outcome.DONE and world.decommissions() == 1


async def test_the_tenant_is_rechecked_at_approval(world: World) -> None:
    request_id = await requested(world)
    retried = await world.approvals.service.act(Action.RETRY, "acme", "U5")  # a fresh attempt since the request
    assert retried.outcome is Outcome.DONE
    result = await world.approvals.approve(request_id, "U2", "U2:press:1")
    assert result.outcome is Outcome.REFUSED and result.message.startswith("Decommission is not allowed now")
    assert world.decommissions() == 0


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_0007_adds_the_requests_and_rolls_back(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to, "0007_claims")
            assert "decommission_requests" not in await connection.run_sync(tables)
        database = await open_database(database_url)  # migrates to head
        await database.close()
        async with engine.begin() as connection:
            assert "decommission_requests" in await connection.run_sync(tables)
            await connection.run_sync(downgrade_to, "0007_claims")
            assert "decommission_requests" not in await connection.run_sync(tables)
            await connection.run_sync(upgrade_to, "head")
    finally:
        await engine.dispose()


async def test_requests_nobody_approved_in_time_are_expired_once_with_where_they_were_posted(world: World) -> None:
    first = await requested(world)
    await world.approvals.posted(first, "C1", "100.0001")
    await make(world.database.tenants, world.engine, "beta", Situation.FAILED_CLEANLY)
    denied = (await world.approvals.request("beta", "U2", "old ticket", None, "U2:press:9")).request
    assert denied is not None and denied.id is not None
    await world.approvals.deny(denied.id, "U3")
    world.clock.skip = TTL - timedelta(seconds=5)
    assert await world.approvals.expire_due() == []  # not yet
    world.clock.skip = TTL + timedelta(seconds=1)
    once, twice = await asyncio.gather(world.approvals.expire_due(), world.approvals.expire_due())
    [expired] = once + twice  # two replicas' schedules: expired once
    assert (expired.id, expired.state, expired.message) == (first, RequestState.EXPIRED, ("C1", "100.0001"))
    late = await world.approvals.approve(first, "U2", "U2:press:1")
    assert late.outcome is Outcome.REFUSED and "expired at" in late.message and world.decommissions() == 0


async def test_a_second_request_for_a_tenant_whose_request_awaits_approval_is_not_recorded(world: World) -> None:
    first = await requested(world)
    second = await world.approvals.request("acme", "U2", "me too", "C1", "U2:press:5")
    assert second.outcome is Outcome.REFUSED and "already awaits approval: requested by U1" in second.message
    assert second.request is not None and second.request.id == first
    assert (await world.types("acme")).count("decommission_requested") == 1
    world.clock.skip = TTL + timedelta(seconds=1)  # once it expired, a new request may be made
    third = await world.approvals.request("acme", "U2", "me too", "C1", "U2:press:6")
    assert third.outcome is Outcome.DONE


async def test_an_approved_decommission_is_followed_until_the_engine_finished_it_and_reported_once(
    world: World,
) -> None:
    request_id = await requested(world)
    assert (await world.approvals.approve(request_id, "U2", "U2:press:1")).outcome is Outcome.DONE
    assert await world.approvals.finished() == []  # the engine is still finishing it
    tenant = await world.database.tenants.get("acme")
    assert tenant is not None and tenant.state is TenantState.DECOMMISSIONING
    await world.database.tenants.save(tenant.updated(state=TenantState.DECOMMISSIONED), [])  # as the saga ends it
    [done] = await world.approvals.finished()
    assert done.id == request_id and done.outcome == "completed: the tenant is decommissioned"
    assert done.finished_at is not None
    assert await world.approvals.finished() == []  # reported once


async def test_an_approval_the_engine_refused_runs_nothing_and_leaves_the_request_open_for_another(
    world: World,
) -> None:
    request_id = await requested(world)
    world.engine.fail_with, world.engine.failing = EngineError("engine: no answer within 2 s"), {"decommission"}
    failed = await world.approvals.approve(request_id, "U2", "U2:press:1")
    assert failed.outcome is Outcome.FAILED and failed.request is not None
    assert "Nothing ran, so the request is open again" in failed.message
    assert failed.request.state is RequestState.PENDING and failed.request.decided_by is None
    assert failed.request.outcome is not None and failed.request.outcome.startswith("failed: decommission failed")
    tenant = await world.database.tenants.get("acme")
    assert tenant is not None and tenant.state is TenantState.FAILED and tenant.claim is None  # as it was
    replayed = await world.approvals.approve(request_id, "U2", "U2:press:1")  # the same press, redelivered
    assert replayed.outcome is Outcome.DUPLICATE and replayed.request is not None
    assert replayed.request.state is RequestState.PENDING  # still open: a redelivery does not use it up

    world.engine.fail_with = None  # the engine answers again: another approval runs it, once
    ran = await world.approvals.approve(request_id, "U3", "U3:press:1")
    assert ran.outcome is Outcome.DONE and ran.request is not None and ran.request.state is RequestState.APPROVED
    assert world.decommissions() == 2  # the refused call, then the one that ran
    types = await world.types("acme")
    assert types.count("decommission_approved") == 2 and types.count("decommission_reopened") == 1
    assert types.count("decommission_failed") == 1 and types[-1] == "decommission_started"
    again = await world.approvals.approve(request_id, "U2", "U2:press:2")
    assert again.outcome is Outcome.REFUSED and "already approved by U3" in again.message


async def test_a_submitted_decommission_is_a_request_while_a_submitted_retry_runs_at_once(world: World) -> None:
    tenant = await make(world.database.tenants, world.engine, "acme", Situation.FAILED_CLEANLY)
    seen = Seen.of(tenant, Situation.FAILED_CLEANLY, world.clock())
    service = world.approvals.service
    submissions = Submissions(Presses(service, world.approvals.authorizer), world.approvals)
    asked = await submissions.submit(
        Action.DECOMMISSION, seen, "U1", reason="customer churned", origin="C1", request_key="view:V1"
    )
    assert isinstance(asked, ApprovalResult) and asked.outcome is Outcome.DONE and world.decommissions() == 0
    assert asked.request is not None and asked.request.origin_channel == "C1"
    ran = await submissions.submit(Action.RETRY, seen, "U1", reason="flaky", origin="C1", request_key="view:V2")
    assert isinstance(ran, ActionResult) and ran.outcome is Outcome.DONE
    assert "retry_completed" in await world.types("acme")


async def test_a_decommission_submitted_from_a_card_that_went_out_of_date_records_no_request(world: World) -> None:
    tenant = await make(world.database.tenants, world.engine, "beta", Situation.FAILED_CLEANLY)
    seen = Seen.of(tenant, Situation.FAILED_CLEANLY, world.clock())
    service = world.approvals.service
    submissions = Submissions(Presses(service, world.approvals.authorizer), world.approvals)
    retried = await service.act(Action.RETRY, "beta", "U2", request_key="cli:1")  # while the preview was open
    assert retried.outcome is Outcome.DONE
    asked = await submissions.submit(
        Action.DECOMMISSION, seen, "U1", reason="customer churned", origin="C1", request_key="view:V3"
    )
    assert isinstance(asked, ActionResult) and asked.outcome is Outcome.REFUSED and "out of date" in asked.message
    assert await world.database.approvals.open_for("beta", world.clock()) is None
    assert "decommission_requested" not in await world.types("beta")
