"""The service against in-memory fakes: action semantics, refusals, concurrency and faults."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Unpack

import pytest

from core.attempts import PAST_EVENTS
from core.bounded import bounded_ports
from core.decisions import Limits, Situation
from core.domain import (
    Action,
    Allocation,
    AuditEvent,
    RunObservation,
    RunStatus,
    Tenant,
    TenantFields,
    TenantState,
    provisioning_handle,
)
from core.liveness import ProcessLease
from core.ports import EngineError, StoreError
from core.results import Outcome, TenantNotFound, Timeouts
from core.service import TenantService
from tests.fakes import FakeEngine, InMemoryLeases, InMemoryStore, at

NOW = at(30)
HANDLE = provisioning_handle("acme", 1)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def service(store: InMemoryStore, engine: FakeEngine) -> TenantService:
    timeouts = Timeouts(read=timedelta(seconds=0.2), engine=timedelta(seconds=0.2))
    lease = ProcessLease(InMemoryLeases(), ttl=timedelta(seconds=30), clock=lambda: NOW)
    bounded_store, bounded_engine = bounded_ports(store, engine, timeouts)  # as the composition root wraps them
    return TenantService(bounded_store, bounded_engine, limits=Limits(), clock=lambda: NOW, lease=lease)


async def wedged(store: InMemoryStore, engine: FakeEngine, **fields: Unpack[TenantFields]) -> Tenant:
    """A tenant stuck at create_identity for 20 minutes with an allocation held."""
    tenant = Tenant(
        "acme",
        TenantState.PROVISIONING,
        at(0),
        handle=HANDLE,
        attempt=1,
        current_step="create_identity",
        last_progress_at=at(10),
    ).updated(**fields)
    await store.add(tenant, [])
    store.held[("acme", "storage")] = Allocation("acme", "storage", "vol-1", at(5), HANDLE.workflow_id)
    engine.set(HANDLE, RunObservation(RunStatus.RUNNING, "create_identity", 1, at(10), timedelta(seconds=60)))
    return tenant


class TestView:
    async def test_shows_row_engine_assessment_allocations_and_events(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        view = await service.view("acme")
        assert view.assessment.situation is Situation.WEDGED_NO_PROGRESS
        assert [a.kind for a in view.allocations] == ["storage"]
        assert view.run is not None and view.run.status is RunStatus.RUNNING
        assert view.problems == ()

    @pytest.mark.parametrize(("attempt", "read"), [(1, 8), (2, PAST_EVENTS)])
    async def test_a_card_reads_the_events_it_shows_and_a_later_attempts_past_only_after_a_retry(
        self, store: InMemoryStore, engine: FakeEngine, attempt: int, read: int
    ) -> None:
        await wedged(store, engine, attempt=attempt)
        limits: list[int] = []
        events = store.events

        async def counted(tenant_id: str, limit: int) -> list[AuditEvent]:
            limits.append(limit)
            return await events(tenant_id, limit)

        store.events = counted  # type: ignore[method-assign]
        await TenantService(store, engine, limits=Limits(), clock=lambda: NOW).view("acme")
        assert limits == [read]

    async def test_unknown_tenant_raises_not_found(self, service: TenantService) -> None:
        with pytest.raises(TenantNotFound):
            await service.view("nobody")

    async def test_a_hung_engine_gives_a_degraded_view_fast(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        engine.delay = 5
        view = await asyncio.wait_for(service.view("acme"), 1)
        assert view.assessment.situation is Situation.ENGINE_UNREACHABLE
        assert view.assessment.allowed == ()
        assert view.problems == ("engine: no answer within 0.2 s",)

    async def test_a_database_that_is_down_raises_a_store_error(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        store.down = True
        with pytest.raises(StoreError, match="database: database unavailable"):
            await service.view("acme")


class TestReset:
    async def test_reset_orphans_the_handle_clears_the_error_keeps_allocations(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine, error="identity API 500")
        result = await service.act(Action.RESET, "acme", "U1")
        assert result.outcome is Outcome.DONE
        tenant = store.tenants["acme"]
        assert (tenant.state, tenant.handle, tenant.error, tenant.claim) == (TenantState.PENDING, None, None, None)
        assert ("acme", "storage") in store.held
        assert ("terminate", HANDLE.workflow_id) in engine.calls
        assert store.types("acme")[-2:] == ["reset_started", "reset_completed"]
        assert result.view is not None and result.view.assessment.situation is Situation.PENDING_CLEAN

    async def test_reset_never_starts_a_new_attempt(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        await service.act(Action.RESET, "acme", "U1")
        assert not [c for c in engine.calls if c[0] == "start"]

    async def test_an_engine_failure_leaves_the_row_as_it_was_and_records_reset_failed(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        before = await wedged(store, engine, error="boom")
        engine.fail_with, engine.failing = EngineError("connection refused"), {"terminate"}
        result = await service.act(Action.RESET, "acme", "U1")
        assert result.outcome is Outcome.FAILED and "connection refused" in result.message
        after = store.tenants["acme"]
        assert (after.state, after.handle, after.error, after.claim) == (before.state, before.handle, "boom", None)
        assert store.types("acme")[-2:] == ["reset_started", "reset_failed"]
        assert store.audit[-1].details["cause"] == "engine: connection refused"

    async def test_an_unreachable_engine_fails_the_reset_fast_with_reset_failed(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        engine.delay = 5
        result = await asyncio.wait_for(service.act(Action.RESET, "acme", "U1"), 2)
        assert result.outcome is Outcome.FAILED and "no answer within 0.2 s" in result.message
        assert store.tenants["acme"].handle == HANDLE
        assert store.types("acme")[-1] == "reset_failed"

    async def test_reset_is_refused_on_a_tenant_that_is_making_progress(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        store.tenants["acme"] = store.tenants["acme"].updated(last_progress_at=at(29))
        result = await service.act(Action.RESET, "acme", "U1")
        assert result.outcome is Outcome.REFUSED and "making progress" in result.message
        assert store.types("acme")[-1] == "action_refused"
        assert not [c for c in engine.calls if c[0] == "terminate"]


def failing_after_claim(store: InMemoryStore, *, hang: float = 0.0) -> None:
    """The claim is written; every later save fails (or hangs `hang` seconds): the database went away mid-action."""
    real_save, saves = store.save, []

    async def save(tenant: Tenant, events: object, **options: object) -> Tenant:
        saves.append(tenant)
        if len(saves) > 1:
            await asyncio.sleep(hang)
            raise StoreError("disk I/O error")
        return await real_save(tenant, events, **options)  # type: ignore[arg-type]

    store.save = save  # type: ignore[method-assign]


class TestDatabaseLostMidAction:
    async def test_a_reset_whose_last_write_fails_is_reported_failed_and_recovery_records_it_completed(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine, error="boom")
        failing_after_claim(store)
        result = await service.act(Action.RESET, "acme", "U1")
        assert result.outcome is Outcome.FAILED
        assert "terminated" in result.message and "not recorded" in result.message and "recovery" in result.message
        assert store.types("acme")[-1] == "reset_started" and store.tenants["acme"].claim is not None
        del store.save  # the database answers again
        assert await service.recovery.run() == 1
        tenant = store.tenants["acme"]
        assert (tenant.state, tenant.handle, tenant.error, tenant.claim) == (TenantState.PENDING, None, None, None)
        assert store.types("acme")[-2:] == ["reset_started", "reset_completed"]
        assert store.audit[-1].details["detail"] == "completed on recovery"

    async def test_a_final_write_that_hangs_is_bounded(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        failing_after_claim(store, hang=5)
        result = await asyncio.wait_for(service.act(Action.RESET, "acme", "U1"), 2)
        assert result.outcome is Outcome.FAILED and "no answer within 0.2 s" in result.message

    async def test_an_engine_failure_that_cannot_be_recorded_reaches_the_audit_feed_through_recovery(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        before = await wedged(store, engine)
        engine.fail_with, engine.failing = EngineError("connection refused"), {"terminate"}
        failing_after_claim(store)
        result = await service.act(Action.RESET, "acme", "U1")
        assert result.outcome is Outcome.FAILED and "connection refused" in result.message
        del store.save
        await service.recovery.run()
        after = store.tenants["acme"]
        assert (after.state, after.handle, after.claim) == (before.state, before.handle, None)
        assert store.types("acme")[-2:] == ["reset_started", "reset_failed"]
        assert store.audit[-1].details["cause"] == "interrupted"


class TestAnsweredWithinOneReadTimeout:
    """An action stopped by a database or engine that does not answer is answered after one READ_TIMEOUT
    (Slack's 3 s hold with the default 2 s), not after a second one spent reading the view for the card."""

    READ = 0.5

    @pytest.fixture
    def patient(self, store: InMemoryStore, engine: FakeEngine) -> TenantService:
        timeouts = Timeouts(read=timedelta(seconds=self.READ), engine=timedelta(seconds=self.READ))
        lease = ProcessLease(InMemoryLeases(), ttl=timedelta(seconds=30), clock=lambda: NOW)
        bounded_store, bounded_engine = bounded_ports(store, engine, timeouts)  # as the composition root wraps them
        return TenantService(bounded_store, bounded_engine, clock=lambda: NOW, lease=lease)

    @pytest.mark.parametrize("hung", ["database", "engine"])
    async def test_a_reset_while_the_database_or_engine_hangs_is_answered_after_one_read_timeout(
        self, patient: TenantService, store: InMemoryStore, engine: FakeEngine, hung: str
    ) -> None:
        await wedged(store, engine)
        if hung == "database":
            store.delay = 5
        else:
            engine.delay = 5
        started = asyncio.get_running_loop().time()
        result = await patient.act(Action.RESET, "acme", "U1", request_key="U1:1")
        elapsed = asyncio.get_running_loop().time() - started
        assert result.outcome is Outcome.FAILED and f"{hung}: no answer within 0.5 s" in result.message
        assert result.view is None and self.READ <= elapsed < 1.9 * self.READ, elapsed
        store.delay = 0
        assert store.tenants["acme"].claim is None and "reset_started" not in store.types("acme")


class TestRetry:
    async def test_retry_on_a_wedged_tenant_says_reset_first(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        result = await service.act(Action.RETRY, "acme", "U1")
        assert result.outcome is Outcome.REFUSED and result.message.startswith("Reset first")

    async def test_retry_after_reset_starts_attempt_two_with_a_new_handle(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        await service.act(Action.RESET, "acme", "U1")
        result = await service.act(Action.RETRY, "acme", "U1")
        assert result.outcome is Outcome.DONE
        tenant = store.tenants["acme"]
        assert tenant.attempt == 2 and tenant.handle is not None
        assert tenant.handle.workflow_id == "provision-acme-2" and tenant.handle.run_id is not None
        assert ("acme", "storage") in store.held
        assert store.types("acme")[-2:] == ["retry_started", "retry_completed"]

    async def test_a_failed_start_restores_the_old_attempt(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await store.add(
            Tenant("acme", TenantState.FAILED, at(0), handle=HANDLE, attempt=1, error="x", failed_activity="seed_data"),
            [],
        )
        engine.fail_with, engine.failing = EngineError("engine down"), {"start"}
        result = await service.act(Action.RETRY, "acme", "U1")
        assert result.outcome is Outcome.FAILED
        tenant = store.tenants["acme"]
        assert (tenant.state, tenant.handle, tenant.attempt, tenant.error) == (TenantState.FAILED, HANDLE, 1, "x")


class TestConcurrency:
    async def test_concurrent_presses_of_reset_run_it_once(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        results = await asyncio.gather(*(service.act(Action.RESET, "acme", f"U{i}") for i in range(8)))
        assert [r.outcome for r in results].count(Outcome.DONE) == 1
        assert [c for c in engine.calls if c[0] == "terminate"] == [("terminate", HANDLE.workflow_id)]
        assert store.types("acme").count("reset_started") == 1

    async def test_the_same_request_key_runs_once(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        first = await service.act(Action.RESET, "acme", "U1", request_key="T1:123.456")
        store.tenants["acme"] = store.tenants["acme"].updated(handle=HANDLE, state=TenantState.PROVISIONING)
        engine.calls.clear()
        second = await service.act(Action.RESET, "acme", "U1", request_key="T1:123.456")
        assert (first.outcome, second.outcome) == (Outcome.DONE, Outcome.DUPLICATE)
        assert [c for c, _ in engine.calls if c == "describe"] == []  # a duplicate is answered before the engine

    async def test_the_started_event_names_the_request_so_the_history_shows_which_press_ran(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        await service.act(Action.RESET, "acme", "U1", request_key="U1:123.456:reset:acme")
        [started] = [e for e in store.audit if e.type.endswith("reset_started")]
        assert started.details["request"] == "U1:123.456:reset:acme"


class TestCancelAndDecommission:
    async def test_cancel_asks_the_engine_and_leaves_the_tenant_cancelling(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await wedged(store, engine)
        result = await service.act(Action.CANCEL, "acme", "U1")
        assert result.outcome is Outcome.DONE
        assert store.tenants["acme"].state is TenantState.CANCELLING
        assert ("cancel", HANDLE.workflow_id) in engine.calls

    async def test_decommission_starts_the_release_run_under_its_own_handle(
        self, service: TenantService, store: InMemoryStore, engine: FakeEngine
    ) -> None:
        await store.add(Tenant("acme", TenantState.CANCELLED, at(0), handle=HANDLE, attempt=1), [])
        result = await service.act(Action.DECOMMISSION, "acme", "U1")
        assert result.outcome is Outcome.DONE
        tenant = store.tenants["acme"]
        assert tenant.state is TenantState.DECOMMISSIONING
        assert tenant.handle is not None and tenant.handle.workflow_id == "decommission-acme-1"
