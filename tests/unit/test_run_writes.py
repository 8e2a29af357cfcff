"""Fencing: only the run the tenant row names may write to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from core.domain import AuditEvent, Tenant, TenantState, provisioning_handle
from core.run_writes import Fenced, RunReporter
from tests.fakes import InMemoryStore, at

CURRENT = provisioning_handle("acme", 2)
ORPHANED = provisioning_handle("acme", 1)


@pytest.fixture
async def reporter() -> RunReporter:
    store = InMemoryStore()
    await store.add(Tenant("acme", TenantState.PENDING, at(0), handle=CURRENT, attempt=2), [])
    return RunReporter(store, clock=lambda: at(1))


def store_of(reporter: RunReporter) -> InMemoryStore:
    assert isinstance(reporter.store, InMemoryStore)
    return reporter.store


async def rejected(reporter: RunReporter, write: Callable[[RunReporter], Awaitable[object]]) -> AuditEvent:
    """Run a write that must be refused: the row and allocations stay, the feed gets one write_rejected."""
    store = store_of(reporter)
    before = store.tenants["acme"]
    with pytest.raises(Fenced):
        await write(reporter)
    assert store.tenants["acme"] == before and store.held == {}
    assert store.types("acme") == ["write_rejected"]
    return store.audit[-1]


async def test_the_current_run_records_steps_allocations_and_completion(reporter: RunReporter) -> None:
    await reporter.step_started("acme", CURRENT, "reserve_storage")
    await reporter.allocated("acme", CURRENT, "storage", "vol-1")
    await reporter.step_completed("acme", CURRENT, "reserve_storage")
    await reporter.completed("acme", CURRENT)
    store = store_of(reporter)
    assert store.tenants["acme"].state is TenantState.ACTIVE
    assert store.types("acme") == ["allocated", "step_completed", "completed"]


async def test_an_allocation_is_recorded_once_across_retries(reporter: RunReporter) -> None:
    first = await reporter.allocated("acme", CURRENT, "storage", "vol-1")
    again = await reporter.allocated("acme", CURRENT, "storage", "vol-2")
    assert again == first and len(await store_of(reporter).allocations("acme")) == 1


@pytest.mark.parametrize(
    "write",
    [
        lambda r: r.step_started("acme", ORPHANED, "seed_data"),
        lambda r: r.heartbeat("acme", ORPHANED, "seed_data"),
        lambda r: r.step_completed("acme", ORPHANED, "seed_data"),
        lambda r: r.allocated("acme", ORPHANED, "network", "net-1"),
        lambda r: r.error("acme", ORPHANED, "boom"),
        lambda r: r.failed("acme", ORPHANED, "seed_data", "boom"),
        lambda r: r.completed("acme", ORPHANED),
    ],
    ids=["step", "heartbeat", "progress", "allocation", "error", "failure", "completion"],
)
async def test_an_orphaned_run_cannot_write_and_the_attempt_is_audited(reporter: RunReporter, write) -> None:  # type: ignore[no-untyped-def]
    assert (await rejected(reporter, write)).details["run"] == ORPHANED.workflow_id


async def test_heartbeats_are_written_at_most_every_interval(reporter: RunReporter) -> None:
    await reporter.heartbeat("acme", CURRENT, "seed_data")
    version = store_of(reporter).tenants["acme"].version
    await reporter.heartbeat("acme", CURRENT, "seed_data")
    assert store_of(reporter).tenants["acme"].version == version


async def test_a_heartbeat_that_is_due_reads_the_row_once(reporter: RunReporter) -> None:
    store, reads = store_of(reporter), []
    real_get = store.get

    async def counted(tenant_id: str) -> Tenant | None:
        reads.append(tenant_id)
        return await real_get(tenant_id)

    store.get = counted  # type: ignore[method-assign]
    await reporter.heartbeat("acme", CURRENT, "seed_data")
    assert reads == ["acme"] and store.tenants["acme"].last_heartbeat_at == at(1)


PROGRESS_WRITES = [
    lambda r: r.step_started("acme", CURRENT, "configure_network"),
    lambda r: r.heartbeat("acme", CURRENT, "configure_network"),
    lambda r: r.step_completed("acme", CURRENT, "configure_network"),
    lambda r: r.allocated("acme", CURRENT, "network", "net-1"),
    lambda r: r.error("acme", CURRENT, "boom"),
]
PROGRESS_IDS = ["step", "heartbeat", "progress", "allocation", "error"]


@pytest.mark.parametrize("state", [TenantState.CANCELLING, TenantState.CANCELLED, TenantState.FAILED])
@pytest.mark.parametrize("write", PROGRESS_WRITES, ids=PROGRESS_IDS)
async def test_a_run_whose_row_is_no_longer_open_cannot_record_progress(  # type: ignore[no-untyped-def]
    reporter: RunReporter, state: TenantState, write
) -> None:
    store = store_of(reporter)
    store.tenants["acme"] = store.tenants["acme"].updated(state=state)
    assert (await rejected(reporter, write)).details["state"] == state.value


async def test_a_cancelling_row_still_takes_its_runs_compensation_and_outcome(reporter: RunReporter) -> None:
    await reporter.allocated("acme", CURRENT, "storage", "vol-1")
    store = store_of(reporter)
    store.tenants["acme"] = store.tenants["acme"].updated(state=TenantState.CANCELLING)
    await reporter.released("acme", CURRENT, "storage")
    await reporter.cancelled("acme", CURRENT)
    assert store.tenants["acme"].state is TenantState.CANCELLED and store.held == {}
    assert store.types("acme") == ["allocated", "released", "cancel_completed"]


async def test_an_orphaned_run_asking_for_a_kind_the_current_run_holds_gets_nothing(reporter: RunReporter) -> None:
    held = await reporter.allocated("acme", CURRENT, "storage", "vol-1")
    with pytest.raises(Fenced):
        await reporter.allocated("acme", ORPHANED, "storage", "vol-2")
    store = store_of(reporter)
    assert list(store.held.values()) == [held]
    assert store.types("acme") == ["allocated", "write_rejected"]
