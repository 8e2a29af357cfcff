"""In-memory fakes of the core's ports (tenants, engine, leases, the user directory, the read-only
switch), for unit tests only.

They keep the ports' contracts (optimistic versions, request keys, NOT_FOUND, RunAlreadyLive) so the
service and the decision table can be tested without I/O. The real adapters have their own
integration tests against SQLite, PostgreSQL and the Temporal dev server.

Each fake subclasses the port it stands in for, and mypy checks `tests/`: a port method a fake lacks,
or whose signature it no longer matches, is a type error rather than a fake that drifted.
"""

from __future__ import annotations

import asyncio
import builtins
import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core.authz import Directory, DirectoryUnavailable
from core.domain import (
    IN_FLIGHT_STATES,
    OPEN_STATES,
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
    ConcurrentUpdate,
    DuplicateRequest,
    EngineError,
    Leases,
    RunAlreadyLive,
    StoreError,
    TenantExists,
    TenantStore,
    WorkflowEngine,
)


class InMemoryStore(TenantStore):
    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.held: dict[tuple[str, str], Allocation] = {}
        self.released: list[Allocation] = []
        self.audit: list[AuditEvent] = []
        self.request_keys: set[str] = set()
        self.down = False
        self.delay = 0.0
        self._ids = itertools.count(1)

    async def _io(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise StoreError("database unavailable (fake)")

    async def get(self, tenant_id: str) -> Tenant | None:
        await self._io()
        return self.tenants.get(tenant_id)

    async def add(self, tenant: Tenant, events: Sequence[AuditEvent]) -> Tenant:
        await self._io()
        if tenant.id in self.tenants:
            raise TenantExists(f"tenant {tenant.id} already exists")
        self.tenants[tenant.id] = replace(tenant, version=1)
        self._append(events)
        return self.tenants[tenant.id]

    async def save(
        self,
        tenant: Tenant,
        events: Sequence[AuditEvent],
        *,
        request_key: str | None = None,
        allocations: AllocationChanges | None = None,
    ) -> Tenant:
        await self._io()
        if self.tenants[tenant.id].version != tenant.version:
            raise ConcurrentUpdate(f"tenant {tenant.id} changed")
        if request_key is not None:
            if request_key in self.request_keys:
                raise DuplicateRequest(request_key)
            self.request_keys.add(request_key)
        for allocation in allocations.add if allocations else ():
            self.held.setdefault((tenant.id, allocation.kind), allocation)
        for kind in allocations.release if allocations else ():
            if (tenant.id, kind) in self.held:
                self.released.append(self.held.pop((tenant.id, kind)))
        saved = replace(tenant, version=tenant.version + 1)
        self.tenants[tenant.id] = saved
        self._append(events)
        return saved

    async def seen_request(self, key: str) -> bool:
        await self._io()
        return key in self.request_keys

    async def append(self, events: Sequence[AuditEvent]) -> None:
        await self._io()
        self._append(events)

    def _append(self, events: Sequence[AuditEvent]) -> None:
        self.audit.extend(replace(e, id=next(self._ids)) for e in events)

    async def allocations(self, tenant_id: str) -> list[Allocation]:
        await self._io()
        return [a for (t, _), a in self.held.items() if t == tenant_id]

    async def events(self, tenant_id: str, limit: int) -> list[AuditEvent]:
        return await self.history(tenant_id, limit=limit)

    async def history(
        self, tenant_id: str, *, limit: int, before: FeedPosition | None = None, after: FeedPosition | None = None
    ) -> list[AuditEvent]:
        await self._io()
        feed = sorted((e for e in self.audit if e.tenant_id == tenant_id), key=lambda e: e.position, reverse=True)
        feed = [e for e in feed if (before is None or e.position < before) and (after is None or e.position > after)]
        return feed[-limit:] if after is not None else feed[:limit]

    async def in_flight(self, ids: Collection[str] | None = None) -> list[Tenant]:
        await self._io()
        return [t for t in self.tenants.values() if t.state in IN_FLIGHT_STATES and (ids is None or t.id in ids)]

    async def in_flight_refs(self, progressing_since: datetime) -> list[InFlightRef]:
        """As the SQL does it (core/persistence/in_flight.py)."""
        await self._io()
        return [
            InFlightRef(t.id, *_handle_columns(t.handle), progressing(t, progressing_since))
            for t in self.tenants.values()
            if t.state in IN_FLIGHT_STATES
        ]

    async def claimed(self) -> list[Tenant]:
        await self._io()
        return [t for t in self.tenants.values() if t.claim is not None]

    async def list(self, limit: int) -> list[Tenant]:
        await self._io()
        return list(self.tenants.values())[:limit]

    async def ping(self) -> None:
        await self._io()

    def types(self, tenant_id: str) -> builtins.list[str]:
        """Audit event types of a tenant, oldest first, without the common prefix."""
        return [e.type.removeprefix("tenant.provisioning.") for e in self.audit if e.tenant_id == tenant_id]


def _handle_columns(handle: RunHandle | None) -> tuple[str | None, int | None, str | None]:
    return (handle.workflow_id, handle.attempt, handle.run_id) if handle else (None, None, None)


def progressing(tenant: Tenant, since: datetime) -> bool:
    """`in_flight_refs`'s verdict: open, a run named, no error, no claim, a step (else creation) after `since`."""
    return (
        tenant.state in OPEN_STATES
        and tenant.handle is not None
        and tenant.error is None
        and tenant.claim is None
        and (tenant.last_progress_at or tenant.created_at) > since
    )


class FakeEngine(WorkflowEngine):
    """Runs nothing: tests set what `describe` answers and read what was asked."""

    def __init__(self) -> None:
        self.runs: dict[str, RunObservation] = {}
        self.calls: list[tuple[str, str]] = []
        self.reasons: list[tuple[str, str, str]] = []  # (terminate or cancel, workflow id, the reason given)
        self.fail_with: EngineError | None = None
        self.failing: set[str] | None = None  # which calls fail_with applies to; None: all
        self.delay = 0.0
        self.closed_at: dict[str, datetime] = {}  # for closed_since, by the engine's clock
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._run_ids = itertools.count(1)

    def set(self, handle: RunHandle | None, observation: RunObservation) -> None:
        """What the engine says about the run from now on; a closed status counts as closed at `clock()`."""
        assert handle is not None
        self.runs[handle.workflow_id] = observation
        if observation.status not in (RunStatus.RUNNING, RunStatus.NOT_FOUND):
            self.closed_at[handle.workflow_id] = self.clock()

    async def _io(self, call: str, workflow_id: str) -> None:
        self.calls.append((call, workflow_id))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None and (self.failing is None or call in self.failing):
            raise self.fail_with

    async def describe(self, handle: RunHandle) -> RunObservation:
        await self._io("describe", handle.workflow_id)
        return self.runs.get(handle.workflow_id, RunObservation(RunStatus.NOT_FOUND))

    async def start(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        await self._io("start", handle.workflow_id)
        live = [w for w, r in self.runs.items() if r.status is RunStatus.RUNNING and f"-{tenant_id}-" in w]
        if live:
            raise RunAlreadyLive(f"run {live[0]} is still live; Reset first")
        run_id = f"run-{next(self._run_ids)}"
        self.runs[handle.workflow_id] = RunObservation(RunStatus.RUNNING, run_id=run_id)
        return replace(handle, run_id=run_id)

    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        await self._io("cancel", handle.workflow_id)
        self.reasons.append(("cancel", handle.workflow_id, reason))
        run = self.runs.get(handle.workflow_id)
        if run is not None and run.status is RunStatus.RUNNING:
            self.runs[handle.workflow_id] = replace(run, cancel_requested=True)

    async def terminate(self, handle: RunHandle, reason: str) -> None:
        await self._io("terminate", handle.workflow_id)
        self.reasons.append(("terminate", handle.workflow_id, reason))
        if handle.workflow_id in self.runs and self.runs[handle.workflow_id].status is RunStatus.RUNNING:
            self.set(handle, RunObservation(RunStatus.TERMINATED))

    async def decommission(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        await self._io("decommission", handle.workflow_id)
        run_id = f"run-{next(self._run_ids)}"
        self.runs[handle.workflow_id] = RunObservation(RunStatus.RUNNING, run_id=run_id)
        return replace(handle, run_id=run_id)

    async def run_statuses(self, handles: Sequence[RunHandle]) -> dict[str, RunStatus]:
        await self._io("run_statuses", "*")
        known = {w: r.status for w, r in self.runs.items() if r.status is not RunStatus.NOT_FOUND}
        return {h.workflow_id: known[h.workflow_id] for h in handles if h.workflow_id in known}

    async def count_running(self, handles: Sequence[RunHandle]) -> int:
        await self._io("count_running", "*")
        running = {w for w, r in self.runs.items() if r.status is RunStatus.RUNNING}
        return len({h.workflow_id for h in handles} & running)

    async def closed_since(self, after: datetime) -> Sequence[ClosedRun]:
        await self._io("closed_since", "*")
        return [
            ClosedRun(w, self.runs[w].run_id or "run", self.runs[w].status)
            for w, closed_at in self.closed_at.items()
            if closed_at > after and self.runs[w].status not in (RunStatus.RUNNING, RunStatus.NOT_FOUND)
        ]


class InMemoryLeases(Leases):
    """Named leases with expiry, as the locks table keeps them."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, datetime]] = {}

    async def try_lock(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        held = self.rows.get(name)
        if held is not None and held[0] != holder and held[1] > now:
            return False
        self.rows[name] = (holder, now + ttl)
        return True

    async def unlock(self, name: str, holder: str) -> None:
        if self.rows.get(name, ("", None))[0] == holder:
            del self.rows[name]

    async def holders(self, prefix: str, *, now: datetime) -> set[str]:
        return {holder for name, (holder, until) in self.rows.items() if name.startswith(prefix) and until > now}


class FakeDirectory(Directory):
    """Who is in which user group; `down` makes every lookup of a group fail, as Slack failing would."""

    def __init__(self, members: dict[str, set[str]] | None = None) -> None:
        self.members = members or {}
        self.down = False
        self.asked: list[frozenset[str]] = []

    async def groups_of(self, user: str, groups: Iterable[str], *, for_display: bool = False) -> frozenset[str]:
        wanted = frozenset(groups)
        self.asked.append(wanted)
        if self.down and wanted:
            raise DirectoryUnavailable("user group lookup failed (fake)")
        return frozenset(g for g in wanted if user in self.members.get(g, set()))


def at(minute: int, second: int = 0) -> datetime:
    """A fixed UTC instant on the test day, so ages in assertions are exact."""
    return datetime(2026, 11, 24, 12, minute, second, tzinfo=UTC)


class InMemoryFreezes(FreezeStore):
    """The read-only switch: one freeze in force at most, every freeze kept; `down` fails every call."""

    def __init__(self) -> None:
        self.kept: builtins.list[tuple[Freeze, str | None]] = []  # each freeze and who lifted it
        self.down = False

    async def current(self) -> Freeze | None:
        if self.down:
            raise StoreError("read-only switch: database unavailable (fake)")
        return next((f for f, lifted_by in self.kept if lifted_by is None), None)

    async def freeze(self, freeze: Freeze) -> Freeze:
        if (kept := await self.current()) is not None:
            return kept
        self.kept.append((freeze, None))
        return freeze

    async def unfreeze(self, by: str, at: datetime) -> Freeze | None:
        if (lifted := await self.current()) is not None:
            self.kept = [(f, by if f is lifted else who) for f, who in self.kept]
        return lifted
