"""Recovering actions a crash left half-done: the pure decision (claimed row + engine answer -> outcome),
when a claim may be recovered, and whole crashes of the service against in-memory fakes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from core.actions import claim_for, claimed
from core.bounded import bounded_ports
from core.decisions import Limits
from core.domain import (
    Action,
    ActionClaim,
    RunHandle,
    RunObservation,
    RunStatus,
    Tenant,
    TenantState,
    decommission_handle,
    provisioning_handle,
)
from core.liveness import ProcessLease
from core.recovery import recoverable, settle
from core.results import Timeouts
from core.service import TenantService
from tests.fakes import FakeEngine, InMemoryLeases, InMemoryStore, at

NOW = at(30)
OLD = provisioning_handle("acme", 1)
NEW = provisioning_handle("acme", 2)
STARTED = RunHandle(NEW.workflow_id, 2, "run-1")  # the fake engine's first run id
RELEASING = decommission_handle("acme", 1)
GONE = RunObservation(RunStatus.NOT_FOUND)
RUNNING = RunObservation(RunStatus.RUNNING)

# The tenant each action is pressed on, and the engine's run of its handle at that moment.
BEFORE: dict[Action, tuple[Tenant, RunObservation]] = {
    Action.RESET: (
        Tenant("acme", TenantState.PROVISIONING, at(0), OLD, 1, "boom", None, "seed_data", at(10)),
        RUNNING,
    ),
    Action.RETRY: (
        Tenant("acme", TenantState.FAILED, at(0), OLD, 1, "quota", "reserve_storage", None, at(10)),
        RunObservation(RunStatus.FAILED),
    ),
    Action.CANCEL: (Tenant("acme", TenantState.PROVISIONING, at(0), OLD, 1, None, None, "seed_data", at(10)), RUNNING),
    Action.DECOMMISSION: (
        Tenant("acme", TenantState.CANCELLED, at(0), OLD, 1, None, None, None, at(10)),
        RunObservation(RunStatus.CANCELED),
    ),
}
# What the engine says about the claim's target run when the process died before / after the engine call.
ENGINE_AT = {
    (Action.RESET, "after the claim"): RUNNING,
    (Action.RESET, "after the engine call"): RunObservation(RunStatus.TERMINATED),
    (Action.RETRY, "after the claim"): GONE,
    (Action.RETRY, "after the engine call"): RunObservation(RunStatus.RUNNING, run_id="run-1"),
    (Action.CANCEL, "after the claim"): RUNNING,
    (Action.CANCEL, "after the engine call"): RunObservation(RunStatus.RUNNING, cancel_requested=True),
    (Action.DECOMMISSION, "after the claim"): GONE,
    (Action.DECOMMISSION, "after the engine call"): RUNNING,
}
# The row once the claim is settled: (state, handle, attempt, error), and the outcome event (None: the saga's).
SETTLED = {
    (Action.RESET, "after the claim"): ((TenantState.PROVISIONING, OLD, 1, "boom"), "reset_failed"),
    (Action.RESET, "after the engine call"): ((TenantState.PENDING, None, 1, None), "reset_completed"),
    (Action.RETRY, "after the claim"): ((TenantState.FAILED, OLD, 1, "quota"), "retry_failed"),
    (Action.RETRY, "after the engine call"): ((TenantState.PENDING, STARTED, 2, None), "retry_completed"),
    (Action.CANCEL, "after the claim"): ((TenantState.PROVISIONING, OLD, 1, None), "cancel_failed"),
    (Action.CANCEL, "after the engine call"): ((TenantState.CANCELLING, OLD, 1, None), None),
    (Action.DECOMMISSION, "after the claim"): ((TenantState.CANCELLED, OLD, 1, None), "decommission_failed"),
    (Action.DECOMMISSION, "after the engine call"): ((TenantState.DECOMMISSIONING, RELEASING, 1, None), None),
}  # fmt: skip
CASES = sorted(SETTLED, key=lambda case: (case[0].value, case[1]))
IDS = [f"{action.value} {point}" for action, point in CASES]


def claimed_row(action: Action, owner: str | None = "host:1:dead") -> Tenant:
    tenant = BEFORE[action][0]
    return claimed(tenant, claim_for(action, tenant, "U1", at(29), owner))


def summary(tenant: Tenant) -> tuple[object, ...]:
    return (tenant.state, tenant.handle, tenant.attempt, tenant.error)


class TestTheDecision:
    @pytest.mark.parametrize(("action", "point"), CASES, ids=IDS)
    def test_a_claim_is_completed_if_its_engine_call_took_effect_else_failed_with_the_row_as_it_was(
        self, action: Action, point: str
    ) -> None:
        row = claimed_row(action)
        settlement = settle(row, ENGINE_AT[action, point])
        expected_row, expected_event = SETTLED[action, point]
        assert summary(row.updated(**settlement.fields)) == expected_row
        assert settlement.event == (f"tenant.provisioning.{expected_event}" if expected_event else None)
        assert settlement.completed is (point == "after the engine call")
        assert settlement.details["detail" if settlement.completed else "cause"] == (
            "completed on recovery" if settlement.completed else "interrupted"
        )

    def test_a_reset_whose_run_finished_by_itself_does_not_reopen_the_tenant(self) -> None:
        row = claimed_row(Action.RESET).updated(state=TenantState.ACTIVE, error=None)  # the saga completed meanwhile
        settlement = settle(row, RunObservation(RunStatus.COMPLETED))
        assert (settlement.completed, settlement.fields) == (False, {})

    def test_a_reset_of_a_tenant_with_no_run_needs_no_engine_answer(self) -> None:
        tenant = Tenant("acme", TenantState.PENDING, at(0), error="boom", last_progress_at=at(10))
        settlement = settle(claimed(tenant, claim_for(Action.RESET, tenant, "U1", at(29), None)), None)
        assert settlement.completed and settlement.fields["error"] is None

    def test_undoing_a_retry_leaves_fields_the_saga_has_changed_since(self) -> None:
        row = claimed_row(Action.RETRY).updated(error="written by the new run")
        fields = settle(row, GONE).fields
        assert "error" not in fields and fields["handle"] == OLD and fields["state"] is TenantState.FAILED

    def test_a_cancel_that_came_after_the_run_completed_failed(self) -> None:
        settlement = settle(claimed_row(Action.CANCEL), RunObservation(RunStatus.COMPLETED, cancel_requested=True))
        assert settlement.event == "tenant.provisioning.cancel_failed"

    def test_a_cancel_whose_run_closed_cancelled_is_complete(self) -> None:
        assert settle(claimed_row(Action.CANCEL), RunObservation(RunStatus.CANCELED)).completed


LEASE = timedelta(minutes=5)


def claim(owner: str | None, age: timedelta = timedelta(seconds=10)) -> ActionClaim:
    return ActionClaim(Action.RESET, "U1", NOW - age, owner)


@pytest.mark.parametrize(
    ("case", "the_claim", "running", "live", "expected"),
    [
        ("this process is running it", claim("me"), True, {"me"}, False),
        ("this process is running it, past the lease", claim("me", LEASE * 2), True, {"me"}, False),
        ("this process wrote it and is no longer running it", claim("me"), False, {"me"}, True),
        ("a live process holds it", claim("other"), False, {"me", "other"}, False),
        ("its process is gone", claim("other"), False, {"me"}, True),
        ("a live process holds it past the lease", claim("other", LEASE), False, {"other"}, True),
        ("no owner recorded, within the lease", claim(None), False, set(), False),
        ("no owner recorded, past the lease", claim(None, LEASE), False, set(), True),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_when_a_claim_is_recoverable(
    case: str, the_claim: ActionClaim, running: bool, live: set[str], expected: bool
) -> None:
    assert recoverable(the_claim, now=NOW, action_lease=LEASE, me="me", running=running, live=live) is expected


class Crash(BaseException):
    """The process dies here: nothing after it runs, no `except Exception` catches it."""


class CrashingEngine(FakeEngine):
    """The fake engine, except that the process dies before or after the action's engine call."""

    def __init__(self) -> None:
        super().__init__()
        self.crash: str | None = None
        self.gate: asyncio.Event | None = None  # the action's engine call waits for it

    async def _io(self, call: str, workflow_id: str) -> None:
        if call in ("terminate", "start", "cancel", "decommission"):
            if self.crash == "after the claim":
                raise Crash()
            if self.gate is not None:
                await self.gate.wait()
        await super()._io(call, workflow_id)

    async def terminate(self, handle: RunHandle, reason: str) -> None:
        await super().terminate(handle, reason)
        self._after()

    async def start(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        started = await super().start(tenant_id, handle)
        self._after()
        return started

    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        await super().cancel(handle, reason)
        self._after()

    async def decommission(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        started = await super().decommission(tenant_id, handle)
        self._after()
        return started

    def _after(self) -> None:
        if self.crash == "after the engine call":
            raise Crash()


@dataclass
class Cluster:
    """Processes sharing one database and engine, with one clock."""

    store: InMemoryStore = field(default_factory=InMemoryStore)
    engine: CrashingEngine = field(default_factory=CrashingEngine)
    leases: InMemoryLeases = field(default_factory=InMemoryLeases)
    now: datetime = NOW

    def process(self) -> TenantService:
        lease = ProcessLease(self.leases, ttl=timedelta(seconds=30), clock=lambda: self.now)
        timeouts = Timeouts(read=timedelta(seconds=1), engine=timedelta(seconds=1))
        store, engine = bounded_ports(self.store, self.engine, timeouts)
        return TenantService(store, engine, limits=Limits(), clock=lambda: self.now, lease=lease)

    async def tenant(self, action: Action) -> None:
        tenant, run = BEFORE[action]
        await self.store.add(tenant, [])
        self.engine.set(tenant.handle, run)


@pytest.mark.parametrize(("action", "point"), CASES, ids=IDS)
async def test_an_action_whose_process_died_is_settled_by_another_once_the_dead_process_lease_runs_out(
    action: Action, point: str
) -> None:
    cluster = Cluster()
    await cluster.tenant(action)
    dying, survivor = cluster.process(), cluster.process()
    cluster.engine.crash = point
    with pytest.raises(Crash):
        await dying.act(action, "acme", "U1")
    cluster.engine.crash = None
    assert cluster.store.types("acme") == [f"{action.value}_started"]

    assert await survivor.recovery.run() == 0  # the dead process's lease has not run out yet
    cluster.now += timedelta(seconds=30)
    assert await survivor.recovery.run() == 1

    tenant = cluster.store.tenants["acme"]
    expected_row, expected_event = SETTLED[action, point]
    assert tenant.claim is None and summary(tenant) == expected_row
    assert cluster.store.types("acme") == [f"{action.value}_started"] + ([expected_event] if expected_event else [])
    assert await survivor.recovery.run() == 0


async def reset_cut_short(point: str) -> Cluster:
    """A Reset whose process died at `point`, its liveness lease run out since."""
    cluster = Cluster()
    await cluster.tenant(Action.RESET)
    cluster.engine.crash = point
    with pytest.raises(Crash):
        await cluster.process().act(Action.RESET, "acme", "U1")
    cluster.engine.crash = None
    cluster.now += timedelta(seconds=30)
    return cluster


async def test_a_process_never_recovers_the_action_it_is_running() -> None:
    cluster = Cluster()
    await cluster.tenant(Action.RESET)
    service = cluster.process()
    cluster.engine.gate = asyncio.Event()
    pressing = asyncio.create_task(service.act(Action.RESET, "acme", "U1"))
    while cluster.store.tenants["acme"].claim is None:
        await asyncio.sleep(0.01)  # claimed, the engine call under way
    cluster.now += timedelta(minutes=10)  # even past ACTION_LEASE
    assert await service.recovery.run() == 0
    cluster.engine.gate.set()
    await pressing
    assert cluster.store.types("acme") == ["reset_started", "reset_completed"]


async def test_an_action_left_unfinished_is_settled_before_the_next_press_runs() -> None:
    cluster = await reset_cut_short("after the engine call")
    result = await cluster.process().act(Action.RETRY, "acme", "U2")
    assert result.message == "retried"
    assert cluster.store.types("acme") == ["reset_started", "reset_completed", "retry_started", "retry_completed"]


async def test_two_replicas_settling_one_claim_at_once_write_one_outcome() -> None:
    cluster = await reset_cut_short("after the engine call")
    cluster.engine.delay = 0.05
    counts = await asyncio.gather(*(cluster.process().recovery.run() for _ in range(4)))
    assert sum(counts) == 1
    assert cluster.store.types("acme") == ["reset_started", "reset_completed"]


async def test_an_engine_that_does_not_answer_leaves_the_claim_for_a_later_run() -> None:
    cluster = await reset_cut_short("after the claim")
    cluster.engine.delay = 5
    survivor = cluster.process()
    assert await asyncio.wait_for(survivor.recovery.run(), 3) == 0
    assert cluster.store.tenants["acme"].claim is not None and cluster.store.types("acme") == ["reset_started"]
    cluster.engine.delay = 0
    assert await survivor.recovery.run() == 1
