"""Writes that come from a workflow run, fenced by the run's handle and by the row's state.

The saga's activities report progress, heartbeats, allocations, errors and their outcome through
`RunReporter`. Each write names the run it comes from; when the tenant row no longer names that run
(it was reset, or a newer attempt started), the write is rejected and a `write_rejected` event is
audited, so a run that wakes up after a Reset can never touch the tenant again.

Progress writes (a step started, a heartbeat, a step completed, an allocation, an error) are also
rejected once the row is no longer open (pending/provisioning): after a Cancel was claimed, or after
the run's own outcome, a step still working on a worker (a step the cancel interrupted, a hung attempt
that wakes up, a timed-out attempt beside its retry) must not allocate anything or move the row back.
Outcome writes (released, cancelled, failed, completed, decommissioned) only need the handle: they
are how the run winds down.

Each report is one `RunWrite`: the tenant fields it changes, its audit event and its allocation
changes, saved together over the version read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core import events as ev
from core.domain import OPEN_STATES, Action, Allocation, AuditEvent, RunHandle, Tenant, TenantFields, TenantState
from core.ports import AllocationChanges, ConcurrentUpdate, StoreError, TenantStore

ATTEMPTS = 20


@dataclass(frozen=True)
class RunWrite:
    """What one report of a run writes in one versioned save: tenant fields, one audit event (by the
    run's workflow), allocations to record or release. An empty write saves nothing."""

    fields: TenantFields = field(default_factory=TenantFields)
    event: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)
    allocations: AllocationChanges | None = None

    @property
    def empty(self) -> bool:
        return not self.fields and self.event is None and self.allocations is None


Change = Callable[[Tenant], RunWrite]  # a write decided on the row read


class Fenced(Exception):
    """The run is no longer the tenant's current run; it must stop without touching anything."""


class Closed(Fenced):
    """The run is still the row's, but the row is winding down (cancelling) or done: no more progress."""


class RunReporter:
    def __init__(
        self, store: TenantStore, clock: Callable[[], datetime], heartbeat_every: timedelta = timedelta(seconds=5)
    ) -> None:
        self.store, self.clock, self.heartbeat_every = store, clock, heartbeat_every

    async def check(self, tenant_id: str, handle: RunHandle, what: str, *, progress: bool = False) -> Tenant:
        """Raise Fenced (and audit it) unless `handle` is the tenant's current run (and, for progress, open)."""
        tenant = await self.store.get(tenant_id)
        if tenant is None:
            raise Fenced(f"tenant {tenant_id} does not exist")
        if not tenant.accepts_writes_from(handle):
            await self._reject(
                tenant, handle, what, Fenced(f"{handle.workflow_id} is not the current run of {tenant_id}")
            )
        if progress and tenant.state not in OPEN_STATES:
            await self._reject(tenant, handle, what, Closed(f"{tenant_id} is {tenant.state}, no longer in progress"))
        return tenant

    async def step_started(self, tenant_id: str, handle: RunHandle, step: str) -> None:
        write = RunWrite(TenantFields(state=TenantState.PROVISIONING, current_step=step))
        await self._apply(tenant_id, handle, f"start {step}", write, progress=True)

    async def heartbeat(self, tenant_id: str, handle: RunHandle, step: str) -> None:
        """Record liveness, at most every `heartbeat_every` (the engine has the exact beat)."""
        what = f"heartbeat {step}"
        tenant = await self.check(tenant_id, handle, what, progress=True)
        last = tenant.last_heartbeat_at
        if last is not None and self.clock() - last < self.heartbeat_every:
            return
        write = RunWrite(TenantFields(last_heartbeat_at=self.clock()))
        if not await self._save(tenant, handle, write):  # the row read for the fence is the one written over
            await self._apply(tenant_id, handle, what, write, progress=True)

    async def step_completed(self, tenant_id: str, handle: RunHandle, step: str) -> None:
        fields = TenantFields(last_progress_at=self.clock(), last_heartbeat_at=self.clock())
        write = RunWrite(fields, ev.STEP_COMPLETED, {"step": step})
        await self._apply(tenant_id, handle, f"complete {step}", write, progress=True)

    async def allocated(self, tenant_id: str, handle: RunHandle, kind: str, resource_id: str) -> Allocation:
        """Record an allocation once and return the stored one: a retried step, or a timed-out attempt still
        running beside its retry, gets back what the first writer recorded. Decided inside the optimistic
        loop: a concurrent writer bumps the row's version, so the loser re-reads and finds the winner's row."""
        what = f"allocate {kind}"
        for _ in range(ATTEMPTS):
            tenant = await self.check(tenant_id, handle, what, progress=True)
            held = [a for a in await self.store.allocations(tenant_id) if a.kind == kind]
            if held:
                return held[0]
            new = Allocation(tenant_id, kind, resource_id, self.clock(), handle.workflow_id)
            details = {"kind": kind, "resource_id": resource_id}
            write = RunWrite(event=ev.ALLOCATED, details=details, allocations=AllocationChanges(add=(new,)))
            if await self._save(tenant, handle, write):
                return new
        raise StoreError(f"{what} on {tenant_id}: the row kept changing")

    async def released(self, tenant_id: str, handle: RunHandle, kind: str) -> None:
        changes = AllocationChanges(release=(kind,), released_at=self.clock())
        write = RunWrite(event=ev.RELEASED, details={"kind": kind}, allocations=changes)
        await self._apply(tenant_id, handle, f"release {kind}", write)

    async def error(self, tenant_id: str, handle: RunHandle, message: str) -> None:
        """An error the run recorded without failing (the guide's second reset scenario)."""
        write = RunWrite(TenantFields(error=message), ev.ERROR_RECORDED, {"error": message})
        await self._apply(tenant_id, handle, "record error", write, progress=True)

    async def cancelling(self, tenant_id: str, handle: RunHandle) -> None:
        """The run was cancelled: close an open row to progress before compensating. The bot's Cancel has
        done so already (no write then); a cancel sent from elsewhere (the Temporal UI) has not."""

        def close(t: Tenant) -> RunWrite:
            if t.state not in OPEN_STATES:
                return RunWrite()
            return RunWrite(TenantFields(state=TenantState.CANCELLING), ev.started(Action.CANCEL), {"by": "engine"})

        await self._apply(tenant_id, handle, "cancelling", close)

    async def failed(self, tenant_id: str, handle: RunHandle, activity: str, message: str) -> None:
        fields = TenantFields(state=TenantState.FAILED, error=message, failed_activity=activity)
        write = RunWrite(fields, ev.FAILED, {"activity": activity, "error": message})
        await self._apply(tenant_id, handle, "fail", write)

    async def completed(self, tenant_id: str, handle: RunHandle) -> None:
        fields = TenantFields(state=TenantState.ACTIVE, current_step=None, error=None)
        await self._apply(tenant_id, handle, "complete", RunWrite(fields, ev.COMPLETED))

    async def cancelled(self, tenant_id: str, handle: RunHandle) -> None:
        fields = TenantFields(state=TenantState.CANCELLED, current_step=None)
        await self._apply(tenant_id, handle, "cancel", RunWrite(fields, ev.completed(Action.CANCEL)))

    async def decommissioned(self, tenant_id: str, handle: RunHandle) -> None:
        fields = TenantFields(state=TenantState.DECOMMISSIONED, current_step=None, handle=None)
        write = RunWrite(fields, ev.completed(Action.DECOMMISSION))
        await self._apply(tenant_id, handle, "decommission", write)

    async def _apply(
        self, tenant_id: str, handle: RunHandle, what: str, write: RunWrite | Change, *, progress: bool = False
    ) -> None:
        for _ in range(ATTEMPTS):
            tenant = await self.check(tenant_id, handle, what, progress=progress)
            if await self._save(tenant, handle, write(tenant) if callable(write) else write):
                return
        raise StoreError(f"{what} on {tenant_id}: the row kept changing")

    async def _save(self, tenant: Tenant, handle: RunHandle, write: RunWrite) -> bool:
        """Write over the version read; False when a concurrent write won (re-read and re-decide)."""
        if write.empty:
            return True
        actor = ev.workflow_actor(handle.workflow_id)
        audit = (
            []
            if write.event is None
            else [AuditEvent(tenant.id, write.event, actor, self.clock(), dict(write.details))]
        )
        try:
            await self.store.save(tenant.updated(**write.fields), audit, allocations=write.allocations)
        except ConcurrentUpdate:
            return False
        return True

    async def _reject(self, tenant: Tenant, handle: RunHandle, what: str, error: Fenced) -> None:
        current = tenant.handle.workflow_id if tenant.handle else None
        details = {"write": what, "run": handle.workflow_id, "run_id": handle.run_id, "current": current}
        details["state"] = tenant.state.value
        await self.store.append(
            [AuditEvent(tenant.id, ev.WRITE_REJECTED, ev.workflow_actor(handle.workflow_id), self.clock(), details)]
        )
        raise type(error)(f"{error}; {what} rejected (current run: {current})")
