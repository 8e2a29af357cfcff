"""The ports wrapped once with their time limits (core/bounded.py): a call that hangs fails within its
limit and says which part did not answer; the engine's reads have READ_TIMEOUT, its actions ENGINE_TIMEOUT."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.bounded import BoundedEngine, BoundedLeases, BoundedStore
from core.domain import provisioning_handle
from core.ports import EngineError, StoreError
from core.results import Timeouts
from tests.fakes import FakeEngine, InMemoryLeases, InMemoryStore, at

SHORT = timedelta(seconds=0.1)
HANDLE = provisioning_handle("acme", 1)


@pytest.mark.parametrize(
    ("read", "named"),
    [
        (lambda s: s.get("acme"), "database"),
        (lambda s: s.in_flight(), "database"),
        (lambda s: s.in_flight({"acme"}), "database"),
        (lambda s: s.in_flight_refs(at(20)), "database"),
        (lambda s: s.allocations("acme"), "allocations"),
        (lambda s: s.events("acme", 5), "audit events"),
        (lambda s: s.history("acme", limit=5), "audit events"),
    ],
)
async def test_a_store_call_that_hangs_fails_within_its_limit_named_by_what_it_reads(read, named) -> None:  # type: ignore[no-untyped-def]
    store = InMemoryStore()
    store.delay = 5
    with pytest.raises(StoreError, match=rf"^{named}: no answer within 0\.1 s$"):
        await asyncio.wait_for(read(BoundedStore(store, SHORT)), 1)


async def test_a_store_error_keeps_its_type_and_says_where_it_came_from() -> None:
    store = InMemoryStore()
    store.down = True
    with pytest.raises(StoreError, match=r"^database: database unavailable"):
        await BoundedStore(store, SHORT).get("acme")


async def test_the_engine_reads_within_the_read_timeout_and_acts_within_the_engine_timeout() -> None:
    engine = FakeEngine()
    engine.delay = 0.3
    bounded = BoundedEngine(engine, Timeouts(read=SHORT, engine=timedelta(seconds=2)))
    with pytest.raises(EngineError, match=r"^engine: no answer within 0\.1 s$"):
        await bounded.describe(HANDLE)
    await bounded.terminate(HANDLE, "test")  # 0.3 s: within the engine's 2 s
    assert [call for call, _ in engine.calls] == ["describe", "terminate"]


@pytest.mark.parametrize(
    "read",
    [
        lambda e: e.describe(HANDLE),
        lambda e: e.run_statuses([HANDLE]),
        lambda e: e.count_running([HANDLE]),
        lambda e: e.closed_since(at(0)),
    ],
    ids=["describe", "run_statuses", "count_running", "closed_since"],
)
async def test_each_engine_read_of_the_wedge_scan_that_hangs_fails_within_the_read_timeout(read) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine()
    engine.delay = 5
    bounded = BoundedEngine(engine, Timeouts(read=SHORT, engine=timedelta(seconds=10)))
    with pytest.raises(EngineError, match=r"^engine: no answer within 0\.1 s$"):
        await asyncio.wait_for(read(bounded), 1)


async def test_a_lease_call_that_hangs_fails_within_its_limit() -> None:
    leases = InMemoryLeases()
    hung = asyncio.Event()

    async def hanging(*args: object, **kwargs: object) -> bool:
        await hung.wait()
        return True

    leases.try_lock = hanging  # type: ignore[method-assign]
    with pytest.raises(StoreError, match=r"^database: no answer within 0\.1 s$"):
        await BoundedLeases(leases, SHORT).try_lock("alive:x", "me", now=at(0), ttl=timedelta(seconds=30))
