"""`bounded`: every read and engine call the core makes has a time limit and a name.

A database or engine that hangs must turn into a clear, fast answer ("engine: no answer within 2 s"),
never into a Slack request or a scan tick that waits forever. The ports are wrapped once, in the
composition root: `BoundedStore`, `BoundedEngine` and `BoundedLeases` implement them by delegating each
call under its limit (READ_TIMEOUT for reads and writes of the database and the engine's reads,
ENGINE_TIMEOUT for the engine calls an action makes), so the service, recovery, the liveness lease and
the wedge finder just call their ports (`BoundedFreezes` does the same for the read-only switch).

The limit holds whatever the driver does once the call is cancelled. `asyncio.wait_for` waits for the
cancelled call to finish, and a driver cancelling a query on a silent socket takes its time (psycopg
spends up to 5 s asking the server to cancel and 5 s waiting for the query to end, then closes the
connection). So the call runs as its own task: on timeout it is cancelled and left to clean up in the
background, and the caller gets its answer at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from core.approval_requests import ApprovalStore, DecommissionRequest, RequestState
from core.domain import (
    Allocation,
    AuditEvent,
    ClosedRun,
    FeedPosition,
    InFlightRef,
    RunHandle,
    RunObservation,
    RunStatus,
    Tenant,
)
from core.freeze import Freeze, FreezeStore
from core.ports import (
    AllocationChanges,
    EngineError,
    Leases,
    StoreError,
    TenantRecord,
    TenantStore,
    WorkflowEngine,
)
from core.results import Timeouts
from core.turns import Turns

T = TypeVar("T")
log = logging.getLogger(__name__)

# Abandoned calls still cleaning up; referenced here so they are not garbage-collected mid-way.
_abandoned: set[asyncio.Future[Any]] = set()


async def bounded(call: Awaitable[T], what: str, error: type[Exception], limit: timedelta) -> T:
    """Await `call` for at most `limit`; a timeout or a port error becomes `error("<what>: <why>")`."""
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=limit.total_seconds())
    except asyncio.CancelledError:  # the caller itself was cancelled: do not wait for the call either
        _abandon(task, what)
        raise
    if not done:
        _abandon(task, what)
        raise error(f"{what}: no answer within {limit.total_seconds():g} s")
    try:
        return task.result()
    except (StoreError, EngineError) as e:
        raise type(e)(f"{what}: {e}") from e


def _abandon(task: asyncio.Future[Any], what: str) -> None:
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(lambda ended: _ended(ended, what))


def _ended(task: asyncio.Future[Any], what: str) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:  # retrieved, so asyncio does not warn
        log.debug("%s: the abandoned call ended with %r", what, task.exception())


class BoundedStore(TenantStore):
    """The tenant store, every call within `limit`. Named "database", except the reads a view can do
    without (its allocations and audit events), which say what could not be read."""

    def __init__(self, store: TenantStore, limit: timedelta) -> None:
        self.store, self.limit = store, limit

    async def _within(self, call: Awaitable[T], what: str = "database") -> T:
        return await bounded(call, what, StoreError, self.limit)

    async def get(self, tenant_id: str) -> Tenant | None:
        return await self._within(self.store.get(tenant_id))

    async def add(self, tenant: Tenant, events: Sequence[AuditEvent]) -> Tenant:
        return await self._within(self.store.add(tenant, events))

    async def save(
        self,
        tenant: Tenant,
        events: Sequence[AuditEvent],
        *,
        request_key: str | None = None,
        allocations: AllocationChanges | None = None,
    ) -> Tenant:
        return await self._within(self.store.save(tenant, events, request_key=request_key, allocations=allocations))

    async def seen_request(self, key: str) -> bool:
        return await self._within(self.store.seen_request(key))

    async def append(self, events: Sequence[AuditEvent]) -> None:
        await self._within(self.store.append(events))

    async def allocations(self, tenant_id: str) -> list[Allocation]:
        return await self._within(self.store.allocations(tenant_id), "allocations")

    async def record(self, tenant_id: str, events: Callable[[Tenant], int]) -> TenantRecord | None:
        """One read within the limit when the store reads a record together; else the default's parts, each
        within it and named as they are on their own."""
        if self.store.reads_records_together:
            return await self._within(self.store.record(tenant_id, events))
        return await super().record(tenant_id, events)

    async def events(self, tenant_id: str, limit: int) -> list[AuditEvent]:
        return await self._within(self.store.events(tenant_id, limit), "audit events")

    async def history(
        self, tenant_id: str, *, limit: int, before: FeedPosition | None = None, after: FeedPosition | None = None
    ) -> list[AuditEvent]:
        reading = self.store.history(tenant_id, limit=limit, before=before, after=after)
        return await self._within(reading, "audit events")

    async def in_flight(self, ids: Collection[str] | None = None) -> list[Tenant]:
        return await self._within(self.store.in_flight(ids))

    async def in_flight_refs(self, progressing_since: datetime) -> list[InFlightRef]:
        return await self._within(self.store.in_flight_refs(progressing_since))

    async def claimed(self) -> list[Tenant]:
        return await self._within(self.store.claimed())

    async def list(self, limit: int) -> list[Tenant]:
        return await self._within(self.store.list(limit))

    async def ping(self) -> None:
        await self._within(self.store.ping())


class BoundedEngine(WorkflowEngine):
    """The workflow engine: its reads within `timeouts.read`, the calls an action makes within `timeouts.engine`."""

    def __init__(self, engine: WorkflowEngine, timeouts: Timeouts, turns: Turns | None = None) -> None:
        self.engine, self.timeouts = engine, timeouts
        self.turns = turns or Turns()  # a `/tenant` answer waiting on a read gives its turn to the next

    async def _read(self, call: Awaitable[T]) -> T:
        async with self.turns.aside():
            return await bounded(call, "engine", EngineError, self.timeouts.read)

    async def _act(self, call: Awaitable[T]) -> T:
        return await bounded(call, "engine", EngineError, self.timeouts.engine)

    async def describe(self, handle: RunHandle) -> RunObservation:
        return await self._read(self.engine.describe(handle))

    async def start(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        return await self._act(self.engine.start(tenant_id, handle))

    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        await self._act(self.engine.cancel(handle, reason))

    async def terminate(self, handle: RunHandle, reason: str) -> None:
        await self._act(self.engine.terminate(handle, reason))

    async def decommission(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        return await self._act(self.engine.decommission(tenant_id, handle))

    async def run_statuses(self, handles: Sequence[RunHandle]) -> dict[str, RunStatus]:
        return await self._read(self.engine.run_statuses(handles))

    async def count_running(self, handles: Sequence[RunHandle]) -> int:
        return await self._read(self.engine.count_running(handles))

    async def closed_since(self, after: datetime) -> Sequence[ClosedRun]:
        return await self._read(self.engine.closed_since(after))


class BoundedLeases(Leases):
    """The named leases, every call within `limit`."""

    def __init__(self, leases: Leases, limit: timedelta) -> None:
        self.leases, self.limit = leases, limit

    async def try_lock(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        return await bounded(self.leases.try_lock(name, holder, now=now, ttl=ttl), "database", StoreError, self.limit)

    async def unlock(self, name: str, holder: str) -> None:
        await bounded(self.leases.unlock(name, holder), "database", StoreError, self.limit)

    async def holders(self, prefix: str, *, now: datetime) -> set[str]:
        return await bounded(self.leases.holders(prefix, now=now), "database", StoreError, self.limit)


def bounded_ports(
    store: TenantStore, engine: WorkflowEngine, timeouts: Timeouts, turns: Turns | None = None
) -> tuple[BoundedStore, BoundedEngine]:
    """The tenant store and the engine, each call under its limit; with `turns` (core/turns.py), the answers
    taking them give their turn to the next while they wait on an engine read."""
    return BoundedStore(store, timeouts.read), BoundedEngine(engine, timeouts, turns)


class BoundedFreezes(FreezeStore):
    """The read-only switch (core/freeze.py), every call within `limit`, named "read-only switch"."""

    def __init__(self, freezes: FreezeStore, limit: timedelta) -> None:
        self.freezes, self.limit = freezes, limit

    async def current(self) -> Freeze | None:
        return await bounded(self.freezes.current(), "read-only switch", StoreError, self.limit)

    async def freeze(self, freeze: Freeze) -> Freeze:
        return await bounded(self.freezes.freeze(freeze), "read-only switch", StoreError, self.limit)

    async def unfreeze(self, by: str, at: datetime) -> Freeze | None:
        return await bounded(self.freezes.unfreeze(by, at), "read-only switch", StoreError, self.limit)


class BoundedApprovals(ApprovalStore):
    """Decommission requests (core/approvals.py), every call within `limit`, named "approvals"."""

    def __init__(self, store: ApprovalStore, limit: timedelta) -> None:
        self.store, self.limit = store, limit

    async def add(
        self, request: DecommissionRequest, events: Callable[[DecommissionRequest], Sequence[AuditEvent]]
    ) -> tuple[DecommissionRequest, bool]:
        return await bounded(self.store.add(request, events), "approvals", StoreError, self.limit)

    async def get(self, request_id: int) -> DecommissionRequest | None:
        return await bounded(self.store.get(request_id), "approvals", StoreError, self.limit)

    async def open_for(self, tenant_id: str, now: datetime) -> DecommissionRequest | None:
        return await bounded(self.store.open_for(tenant_id, now), "approvals", StoreError, self.limit)

    async def decide(
        self,
        request_id: int,
        state: RequestState,
        by: str,
        at: datetime,
        events: Sequence[AuditEvent],
        *,
        key: str | None = None,
    ) -> bool:
        decided = self.store.decide(request_id, state, by, at, events, key=key)
        return await bounded(decided, "approvals", StoreError, self.limit)

    async def reopen(self, request_id: int, key: str, outcome: str, events: Sequence[AuditEvent]) -> bool:
        return await bounded(self.store.reopen(request_id, key, outcome, events), "approvals", StoreError, self.limit)

    async def decided_by_key(self, request_id: int, key: str) -> bool:
        return await bounded(self.store.decided_by_key(request_id, key), "approvals", StoreError, self.limit)

    async def record_outcome(self, request_id: int, outcome: str, finished_at: datetime | None) -> None:
        recorded = self.store.record_outcome(request_id, outcome, finished_at)
        await bounded(recorded, "approvals", StoreError, self.limit)

    async def unfinished(self, approved_since: datetime, limit: int) -> list[DecommissionRequest]:
        return await bounded(self.store.unfinished(approved_since, limit), "approvals", StoreError, self.limit)

    async def finish(self, request_id: int, outcome: str, at: datetime) -> DecommissionRequest | None:
        return await bounded(self.store.finish(request_id, outcome, at), "approvals", StoreError, self.limit)

    async def record_message(self, request_id: int, channel: str, ts: str) -> None:
        await bounded(self.store.record_message(request_id, channel, ts), "approvals", StoreError, self.limit)

    async def expire_due(self, now: datetime, limit: int) -> list[DecommissionRequest]:
        return await bounded(self.store.expire_due(now, limit), "approvals", StoreError, self.limit)
