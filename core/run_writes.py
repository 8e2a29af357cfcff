"""Writes that come from a workflow run, fenced by the run's handle.

The saga's activities report progress, heartbeats, allocations, errors and their outcome through
`RunReporter`. Each write names the run it comes from; when the tenant row no longer names that run
(it was reset, or a newer attempt started), the write is rejected and a `write_rejected` event is
audited, so a run that wakes up after a Reset can never touch the tenant again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from core import events as ev
from core.domain import Action, Allocation, AuditEvent, RunHandle, Tenant, TenantState
from core.ports import AllocationChanges, ConcurrentUpdate, StoreError, TenantStore

Change = Callable[[Tenant], tuple[dict[str, object], list[tuple[str, dict[str, object]]], AllocationChanges | None]]
ATTEMPTS = 20


class Fenced(Exception):
    """The run is no longer the tenant's current run; it must stop without touching anything."""


class RunReporter:
    def __init__(
        self, store: TenantStore, clock: Callable[[], datetime], heartbeat_every: timedelta = timedelta(seconds=5)
    ) -> None:
        self.store, self.clock, self.heartbeat_every = store, clock, heartbeat_every

    async def check(self, tenant_id: str, handle: RunHandle, what: str) -> Tenant:
        """Raise Fenced (and audit it) unless `handle` is the tenant's current run."""
        tenant = await self.store.get(tenant_id)
        if tenant is None:
            raise Fenced(f"tenant {tenant_id} does not exist")
        if not tenant.accepts_writes_from(handle):
            await self._reject(tenant, handle, what)
        return tenant

    async def step_started(self, tenant_id: str, handle: RunHandle, step: str) -> None:
        await self._apply(
            tenant_id,
            handle,
            f"start {step}",
            lambda t: ({"state": TenantState.PROVISIONING, "current_step": step}, [], None),
        )

    async def heartbeat(self, tenant_id: str, handle: RunHandle, step: str) -> None:
        """Record liveness, at most every `heartbeat_every` (the engine has the exact beat)."""
        tenant = await self.check(tenant_id, handle, f"heartbeat {step}")
        last = tenant.last_heartbeat_at
        if last is not None and self.clock() - last < self.heartbeat_every:
            return
        await self._apply(
            tenant_id, handle, f"heartbeat {step}", lambda t: ({"last_heartbeat_at": self.clock()}, [], None)
        )

    async def step_completed(self, tenant_id: str, handle: RunHandle, step: str) -> None:
        await self._apply(
            tenant_id,
            handle,
            f"complete {step}",
            lambda t: (
                {"last_progress_at": self.clock(), "last_heartbeat_at": self.clock()},
                [(ev.STEP_COMPLETED, {"step": step})],
                None,
            ),
        )

    async def allocated(self, tenant_id: str, handle: RunHandle, kind: str, resource_id: str) -> Allocation:
        """Record an allocation once; a retried step gets back what the first attempt recorded."""
        for held in await self.store.allocations(tenant_id):
            if held.kind == kind:
                return held
        new = Allocation(tenant_id, kind, resource_id, self.clock(), handle.workflow_id)
        await self._apply(
            tenant_id,
            handle,
            f"allocate {kind}",
            lambda t: ({}, [(ev.ALLOCATED, {"kind": kind, "resource_id": resource_id})], AllocationChanges(add=(new,))),
        )
        return new

    async def released(self, tenant_id: str, handle: RunHandle, kind: str) -> None:
        await self._apply(
            tenant_id,
            handle,
            f"release {kind}",
            lambda t: (
                {},
                [(ev.RELEASED, {"kind": kind})],
                AllocationChanges(release=(kind,), released_at=self.clock()),
            ),
        )

    async def error(self, tenant_id: str, handle: RunHandle, message: str) -> None:
        """An error the run recorded without failing (the guide's second reset scenario)."""
        await self._apply(
            tenant_id,
            handle,
            "record error",
            lambda t: ({"error": message}, [(ev.ERROR_RECORDED, {"error": message})], None),
        )

    async def failed(self, tenant_id: str, handle: RunHandle, activity: str, message: str) -> None:
        await self._apply(
            tenant_id,
            handle,
            "fail",
            lambda t: (
                {"state": TenantState.FAILED, "error": message, "failed_activity": activity},
                [(ev.FAILED, {"activity": activity, "error": message})],
                None,
            ),
        )

    async def completed(self, tenant_id: str, handle: RunHandle) -> None:
        await self._apply(
            tenant_id,
            handle,
            "complete",
            lambda t: ({"state": TenantState.ACTIVE, "current_step": None, "error": None}, [(ev.COMPLETED, {})], None),
        )

    async def cancelled(self, tenant_id: str, handle: RunHandle) -> None:
        await self._apply(
            tenant_id,
            handle,
            "cancel",
            lambda t: (
                {"state": TenantState.CANCELLED, "current_step": None},
                [(ev.completed(Action.CANCEL), {})],
                None,
            ),
        )

    async def decommissioned(self, tenant_id: str, handle: RunHandle) -> None:
        await self._apply(
            tenant_id,
            handle,
            "decommission",
            lambda t: (
                {"state": TenantState.DECOMMISSIONED, "current_step": None, "handle": None},
                [(ev.completed(Action.DECOMMISSION), {})],
                None,
            ),
        )

    async def _apply(self, tenant_id: str, handle: RunHandle, what: str, change: Change) -> None:
        for _ in range(ATTEMPTS):
            tenant = await self.check(tenant_id, handle, what)
            fields, events, allocations = change(tenant)
            actor = ev.workflow_actor(handle.workflow_id)
            audit = [AuditEvent(tenant_id, kind, actor, self.clock(), details) for kind, details in events]
            try:
                await self.store.save(tenant.updated(**fields), audit, allocations=allocations)
                return
            except ConcurrentUpdate:
                continue
        raise StoreError(f"{what} on {tenant_id}: the row kept changing")

    async def _reject(self, tenant: Tenant, handle: RunHandle, what: str) -> None:
        current = tenant.handle.workflow_id if tenant.handle else None
        event = AuditEvent(
            tenant.id,
            ev.WRITE_REJECTED,
            ev.workflow_actor(handle.workflow_id),
            self.clock(),
            {"write": what, "run": handle.workflow_id, "run_id": handle.run_id, "current": current},
        )
        await self.store.append([event])
        raise Fenced(
            f"{handle.workflow_id} is not the current run of {tenant.id} (current: {current}); {what} rejected"
        )
