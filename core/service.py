"""The tenant service: the one way to read a tenant's view and to run an operator action.

Slack listeners (a button press through core/presses.py, which authorizes it first), the CLI and the
scheduler all call this. Every read and engine call is bounded by a timeout (its ports come wrapped,
core/bounded.py), so a hung database or engine turns into a clear message (and a `*_failed` audit event
for actions) instead of silence. Each action re-assesses the tenant at the moment it runs and claims
the row with an optimistic version check, so one press runs once and concurrent presses run once in
all. The claim names this process (`ProcessLease`); an action whose outcome could not be written (the
database went away, the process died) keeps its claim until recovery settles it (core/recovery.py), so
every `<action>_started` gets exactly one outcome. While tenantbot is frozen (the read-only switch,
core/freeze.py) every action is refused here, before its claim, whoever asked for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from core import events as ev
from core.actions import STEPS, Fields, claim_for, claimed, restore
from core.decisions import Limits, Situation, assess, refusal
from core.domain import Action, ActionClaim, AuditEvent, RunHandle, RunObservation, Tenant, TenantState
from core.freeze import Freeze, NeverFrozen, Switch
from core.liveness import ProcessLease
from core.ports import (
    ConcurrentUpdate,
    DuplicateRequest,
    EngineError,
    StoreError,
    TenantStore,
    Unread,
    WorkflowEngine,
)
from core.recovery import Recovery
from core.results import ActionResult, Outcome, TenantNotFound, TenantView, utcnow

log = logging.getLogger(__name__)
CLAIM_ATTEMPTS = 3
SETTLED = "recovery settled it meanwhile"  # the action outlived ACTION_LEASE and recovery wrote its outcome


class TenantService:
    def __init__(
        self,
        store: TenantStore,
        engine: WorkflowEngine,
        *,
        limits: Limits = Limits(),
        clock: Callable[[], datetime] = utcnow,
        events_shown: int = 8,
        lease: ProcessLease | None = None,
        switch: Switch | None = None,
        after_action: Callable[[], None] | None = None,
    ) -> None:
        self.store, self.engine, self.limits = store, engine, limits  # bounded ports (core/bounded.py)
        # told (without waiting) once an action ran, e.g. so `serve` announces it at once; the announcement
        # itself is read from the audit feed (core/alerting/announcements.py), whoever ran the action
        self.after_action = after_action
        self.switch = switch or Switch(NeverFrozen(), clock=clock)  # the read-only switch, read at every action
        self.clock, self.events_shown = clock, events_shown
        self.lease = lease or ProcessLease(None, ttl=limits.action_lease, clock=clock)
        self.recovery = Recovery(store, engine, self.lease, limits=limits, clock=clock)

    # -- reading ---------------------------------------------------------------------------------

    async def view(self, tenant_id: str) -> TenantView:
        """Row, engine observation, assessment, allocations, recent events and the read-only switch: what the
        database holds read together (`TenantStore.record`), then the engine. Raises TenantNotFound, StoreError."""
        record = await self.store.record(tenant_id, self.events_shown)
        if record is None:
            raise TenantNotFound(tenant_id)
        tenant = record.tenant
        run, engine_problems = await self._describe(tenant)
        problems = [*engine_problems, *record.problems]
        frozen = await self._switch_state(problems) if record.switch is Unread.SWITCH else record.switch
        now = self.clock()
        return TenantView(
            tenant,
            run,
            assess(tenant, run, now=now, limits=self.limits),
            record.allocations or (),
            record.events or (),
            tuple(problems),
            now,
            frozen,
        )

    async def overview(self, limit: int = 50) -> list[TenantView]:
        """Views of the most recently changed tenants (for `tenantbot tenants` and `/tenant stuck`)."""
        tenants = await self.store.list(limit)
        return list(await asyncio.gather(*(self.view(t.id) for t in tenants)))

    async def _observe(self, tenant_id: str) -> tuple[Tenant, RunObservation | None, tuple[str, ...]]:
        tenant = await self.store.get(tenant_id)
        if tenant is None:
            raise TenantNotFound(tenant_id)
        return tenant, *await self._describe(tenant)

    async def _describe(self, tenant: Tenant) -> tuple[RunObservation | None, tuple[str, ...]]:
        if tenant.handle is None:
            return None, ()
        try:
            return await self.engine.describe(tenant.handle), ()
        except EngineError as e:
            return None, (str(e),)

    async def _switch_state(self, problems: list[str]) -> Freeze | None:
        """The read-only switch for a view; when it cannot be read the view says so (a press then refuses)."""
        try:
            return await self.switch.state()
        except StoreError as e:
            problems.append(str(e))
            return None

    # -- acting ----------------------------------------------------------------------------------

    async def act(self, action: Action, tenant_id: str, actor: str, *, request_key: str | None = None) -> ActionResult:
        """Run `action` on the tenant as `actor` if the decision table allows it right now."""
        try:
            claim, current = await self._claim(action, tenant_id, actor, request_key)
        except _Stop as stop:
            if stop.unread:  # reading the view for the answer would wait as long again
                return ActionResult(action, tenant_id, actor, stop.outcome, stop.message, None)
            return await self._result(action, tenant_id, actor, stop.outcome, stop.message)
        try:
            outcome, message = await self._run(claim, current)
        finally:
            self.lease.end(tenant_id)
            if self.after_action is not None:
                self.after_action()
        return await self._result(action, tenant_id, actor, outcome, message)

    async def _run(self, claim: ActionClaim, current: Tenant) -> tuple[Outcome, str]:
        """The engine call and the outcome, written with the claim released. An outcome that cannot be
        written leaves the claim to recovery (core/recovery.py), which writes it from the engine's state."""
        action, steps, tenant_id = claim.action, STEPS[claim.action], current.id
        try:
            started = await steps.call(self.engine, current)
        except EngineError as e:
            unrecorded = await self._finish(
                tenant_id, claim, lambda t: restore(t, claim), ev.failed(action), cause=str(e)
            )
            return Outcome.FAILED, f"{action.value} failed: {e}{_unrecorded(unrecorded)}"
        kind = ev.completed(action) if steps.completes_now else None
        done = await self._finish(tenant_id, claim, lambda t: steps.on_done(t, started), kind, run=_describe(started))
        if done is not None:
            return Outcome.FAILED, f"{action.value} failed half-way: {steps.done_by_engine}{_unrecorded(done)}"
        return Outcome.DONE, _done_message(action, steps.completes_now)

    async def _claim(
        self, action: Action, tenant_id: str, actor: str, request_key: str | None
    ) -> tuple[ActionClaim, Tenant]:
        for _ in range(CLAIM_ATTEMPTS):
            try:
                if request_key is not None and await self.store.seen_request(request_key):
                    raise _Stop(Outcome.DUPLICATE, "this request was already handled; nothing ran twice")
                tenant, run, _problems = await self._observe(tenant_id)
                if await self.recovery.settle_if_due(tenant):
                    continue  # a crash had left an action unfinished: settled, so decide on the fresh row
            except (TenantNotFound, StoreError) as e:
                outcome = Outcome.FAILED if isinstance(e, StoreError) else Outcome.REFUSED
                raise _Stop(outcome, str(e), unread=True) from e
            await self._unless_frozen(action, tenant_id, actor)
            now = self.clock()
            assessment = assess(tenant, run, now=now, limits=self.limits)
            if assessment.situation is Situation.ENGINE_UNREACHABLE:
                cause = "; ".join(_problems)
                await self._audit(tenant_id, ev.failed(action), actor, cause=cause)
                raise _Stop(Outcome.FAILED, f"{action.value} not started: {cause}", unread=True)
            if not assessment.allows(action):
                reason = refusal(action, assessment)
                await self._audit(tenant_id, ev.ACTION_REFUSED, actor, action=action.value, reason=reason)
                raise _Stop(Outcome.REFUSED, reason)
            claim = claim_for(action, tenant, actor, now, self.lease.id)
            situation = assessment.situation.key
            event = self._event(tenant_id, ev.started(action), actor, situation=situation, request=request_key)
            self.lease.begin(tenant_id)  # before the claim is written: this process's recovery must not touch it
            written = False
            try:
                await self.lease.hold()  # the claim names this process, so it must be known alive first
                current = await self.store.save(claimed(tenant, claim), [event], request_key=request_key)
                written = True
                return claim, current
            except ConcurrentUpdate:
                continue
            except DuplicateRequest as e:
                raise _Stop(Outcome.DUPLICATE, "this request was already handled; nothing ran twice") from e
            except StoreError as e:
                raise _Stop(Outcome.FAILED, f"{action.value} not started: {e}", unread=True) from e
            finally:
                if not written:
                    self.lease.end(tenant_id)  # `act` ends it once the claimed action is over
        raise _Stop(Outcome.REFUSED, "the tenant kept changing while deciding; look again and retry")

    async def _unless_frozen(self, action: Action, tenant_id: str, actor: str) -> None:
        """Stop here while tenantbot is frozen (refused and audited with who froze it, when and why), or when
        the switch cannot be read (fail closed: nothing runs on a switch that might be on)."""
        try:
            freeze = await self.switch.state()
        except StoreError as e:
            raise _Stop(Outcome.FAILED, f"{action.value} not started: {e}", unread=True) from e
        if freeze is not None:
            reason = freeze.refusal(self.clock())
            await self._audit(tenant_id, ev.ACTION_REFUSED, actor, action=action.value, reason=reason)
            raise _Stop(Outcome.REFUSED, reason)

    async def _finish(
        self, tenant_id: str, claim: ActionClaim, change: Callable[[Tenant], Fields], kind: str | None, **details: Any
    ) -> str | None:
        """Apply `change` to the fresh row, release the claim and emit `kind`, retrying on concurrent writes,
        while the row still holds `claim` (recovery may have settled it after ACTION_LEASE).

        Returns None when written, or why it was not (recovery then settles the claim).
        """
        for _ in range(10):
            try:
                tenant = await self.store.get(tenant_id)
                if tenant is None or not claim.same(tenant.claim):
                    log.warning("%s of %s was settled by recovery before it could finish", claim.action, tenant_id)
                    return SETTLED
                events = [self._event(tenant_id, kind, claim.actor, **details)] if kind else []
                await self.store.save(tenant.updated(claim=None, **change(tenant)), events)
                return None
            except ConcurrentUpdate:
                continue
            except StoreError as e:
                log.error("could not finish %s of %s: %s (recovery settles it)", claim.action, tenant_id, e)
                return str(e)
        log.error("could not finish %s of %s: the row kept changing (recovery settles it)", claim.action, tenant_id)
        return "the row kept changing"

    async def _audit(self, tenant_id: str, kind: str, actor: str, **details: object) -> None:
        try:
            await self.store.append([self._event(tenant_id, kind, actor, **details)])
        except StoreError as e:
            log.warning("audit event %s for %s lost: %s", kind, tenant_id, e)

    def _event(self, tenant_id: str, kind: str, actor: str, **details: object) -> AuditEvent:
        return AuditEvent(tenant_id, kind, actor, self.clock(), {k: v for k, v in details.items() if v is not None})

    async def _result(self, action: Action, tenant_id: str, actor: str, outcome: Outcome, message: str) -> ActionResult:
        try:
            view: TenantView | None = await self.view(tenant_id)
        except (TenantNotFound, StoreError):
            view = None
        return ActionResult(action, tenant_id, actor, outcome, message, view)

    async def refuse(self, action: Action, tenant_id: str, actor: str, reason: str) -> ActionResult:
        """Record a press that was not allowed to run (e.g. not authorized) and answer with the current view.

        Raises TenantNotFound (nothing recorded: there is nothing to refuse) or StoreError."""
        if await self.store.get(tenant_id) is None:
            raise TenantNotFound(tenant_id)
        await self._audit(tenant_id, ev.ACTION_REFUSED, actor, action=action.value, reason=reason)
        return await self._result(action, tenant_id, actor, Outcome.REFUSED, reason)

    async def create(self, tenant_id: str, actor: str) -> Tenant:
        """Record a new pending tenant; `act(RETRY, ...)` then starts its first attempt."""
        now = self.clock()
        tenant = Tenant(id=tenant_id, state=TenantState.PENDING, created_at=now, last_progress_at=now)
        event = self._event(tenant_id, ev.REQUESTED, actor)
        return await self.store.add(tenant, [event])


class _Stop(Exception):
    """The action ends before it ran. `unread`: the tenant is not there, or the database or the engine did
    not answer, so the answer goes without a fresh view (and within one READ_TIMEOUT)."""

    def __init__(self, outcome: Outcome, message: str, *, unread: bool = False) -> None:
        super().__init__(message)
        self.outcome, self.message, self.unread = outcome, message, unread


def _describe(handle: RunHandle | None) -> dict[str, object] | None:
    if handle is None:
        return None
    return {"workflow_id": handle.workflow_id, "run_id": handle.run_id, "attempt": handle.attempt}


def _unrecorded(why: str | None) -> str:
    """What an operator reads when the outcome could not be written with the action."""
    if why is None:
        return ""
    if why == SETTLED:
        return f", but it outlived ACTION_LEASE and {SETTLED}: see the audit feed"
    return f", but it was not recorded ({why}); recovery records it from the engine's state once the database answers"


def _done_message(action: Action, completes_now: bool) -> str:
    past = {
        Action.RESET: "reset",
        Action.RETRY: "retried",
        Action.CANCEL: "cancel requested",
        Action.DECOMMISSION: "decommission started",
    }[action]
    return past if completes_now else f"{past}; the engine is finishing it"
