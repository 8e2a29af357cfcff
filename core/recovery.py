"""Finishing operator actions that a crash left half-done.

An action claims the tenant row, asks the engine, then writes its outcome with the claim released
(core/service.py). A process killed in between leaves the claim behind: `<action>_started` without an
outcome, and a row that may not say what the engine did. Recovery settles such a claim from what the
engine says about the claim's target run (`settle`, a pure function):

- the engine call took effect (`ActionSteps.happened`): the action's done fields, and for Reset and
  Retry `<action>_completed` "completed on recovery" (Cancel and Decommission get theirs from the saga
  when it has wound down, as when nothing crashed);
- it did not: the claimed fields are restored (`actions.restore`) and `<action>_failed` "interrupted";
- the engine does not answer: nothing is decided; the next run asks again.

A claim is recoverable (`recoverable`) once it is older than ACTION_LEASE, or at once when the process
that wrote it holds no live lease (core/liveness.py) — never while this process is running it. The
write is the versioned save, re-decided on the fresh row only while it still holds the same claim, so
replicas settling one claim at once write one outcome. It runs when `serve`, `worker` and `scan` start,
on every scheduler tick, and before an action on a tenant whose claim is recoverable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core import events as ev
from core.actions import STEPS, Fields, restore
from core.decisions import Limits
from core.domain import ActionClaim, AuditEvent, RunObservation, Tenant
from core.liveness import ProcessLease
from core.ports import ConcurrentUpdate, EngineError, TenantStore, WorkflowEngine

log = logging.getLogger(__name__)
COMPLETED_ON_RECOVERY = "completed on recovery"
INTERRUPTED = "interrupted"
ATTEMPTS = 10


@dataclass(frozen=True)
class Settlement:
    """How a left-over claim ends: the fields written as the claim is released, and the one event."""

    completed: bool
    fields: Fields
    event: str | None
    details: dict[str, str]


def settle(tenant: Tenant, run: RunObservation | None) -> Settlement:
    """Decide a claimed row from the engine's answer about the claim's target (None: it has no target)."""
    claim = tenant.claim
    assert claim is not None, "only a claimed row is settled"
    steps = STEPS[claim.action]
    engine = str(run.status) if run is not None else "no run to ask about"
    if steps.happened(run, tenant):
        started = claim.target
        if started is not None and run is not None and run.run_id is not None:
            started = replace(started, run_id=run.run_id)
        event = ev.completed(claim.action) if steps.completes_now else None
        details = {"detail": COMPLETED_ON_RECOVERY, "engine": engine}
        return Settlement(True, steps.on_done(tenant, started), event, details)
    return Settlement(False, restore(tenant, claim), ev.failed(claim.action), {"cause": INTERRUPTED, "engine": engine})


def recoverable(
    claim: ActionClaim, *, now: datetime, action_lease: timedelta, me: str | None, running: bool, live: set[str]
) -> bool:
    """Whether a claim may be settled now: never while this process runs it; once it outlived the lease;
    at once if its process is gone (this one between two of its actions, or one holding no live lease)."""
    mine = claim.owner is not None and claim.owner == me
    if mine and running:
        return False
    if now - claim.since >= action_lease:
        return True
    return claim.owner is not None and (mine or claim.owner not in live)


class Recovery:
    def __init__(
        self,
        store: TenantStore,
        engine: WorkflowEngine,
        lease: ProcessLease,
        *,
        limits: Limits,
        clock: Callable[[], datetime],
    ) -> None:
        self.store, self.engine, self.lease = store, engine, lease
        self.limits, self.clock = limits, clock

    async def run(self) -> int:
        """Settle every recoverable claim; returns how many. Raises StoreError when the database fails."""
        claimed = await self.store.claimed()
        if not claimed:
            return 0
        live = await self.lease.live()
        settled = 0
        for tenant in claimed:
            if self._due(tenant, live):
                settled += await self.settle(tenant)
        return settled

    async def settle_if_due(self, tenant: Tenant) -> bool:
        """Settle the tenant's claim if it is recoverable (before acting on it); whether the row changed."""
        claim = tenant.claim
        if claim is None:
            return False
        expired = self.clock() - claim.since >= self.limits.action_lease
        live = set() if expired or claim.owner is None else await self.lease.live()
        return self._due(tenant, live) and await self.settle(tenant)

    def _due(self, tenant: Tenant, live: set[str]) -> bool:
        assert tenant.claim is not None
        return recoverable(
            tenant.claim,
            now=self.clock(),
            action_lease=self.limits.action_lease,
            me=self.lease.id,
            running=self.lease.running(tenant.id),
            live=live,
        )

    async def settle(self, tenant: Tenant) -> bool:
        """Write the settlement of the tenant's claim; False if the engine did not answer or another
        process settled it first. Raises StoreError."""
        claim = tenant.claim
        assert claim is not None
        try:
            run = await self._observe(claim)
        except EngineError as e:
            log.info("%s of %s left unfinished for now: %s", claim.action, tenant.id, e)
            return False
        for _ in range(ATTEMPTS):
            settlement = settle(tenant, run)
            events = []
            if settlement.event is not None:
                events = [AuditEvent(tenant.id, settlement.event, claim.actor, self.clock(), settlement.details)]
            try:
                await self.store.save(tenant.updated(claim=None, **settlement.fields), events)
            except ConcurrentUpdate:
                fresh = await self.store.get(tenant.id)
                if fresh is None or not claim.same(fresh.claim):
                    return False  # settled by another replica (or finished by its process) meanwhile
                tenant = fresh
                continue
            outcome = COMPLETED_ON_RECOVERY if settlement.completed else INTERRUPTED
            engine = run.status if run else "no run"
            log.warning("%s of %s by %s %s (engine: %s)", claim.action, tenant.id, claim.actor, outcome, engine)
            return True
        return False

    async def _observe(self, claim: ActionClaim) -> RunObservation | None:
        if claim.target is None:
            return None
        return await self.engine.describe(claim.target)
