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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import events as ev
from core.actions import STEPS, Fields, claim_for, claimed, restore
from core.attempts import PAST_EVENTS, past_of
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
from core.previews import Preview, preview
from core.recovery import Recovery
from core.request_ids import current_request_id, tenant_scope
from core.results import ActionResult, Outcome, TenantNotFound, TenantView, utcnow
from core.seen import Seen, Staleness, situation_note, staleness

log = logging.getLogger(__name__)
CLAIM_ATTEMPTS = 3
SETTLED = "recovery settled it meanwhile"  # the action outlived ACTION_LEASE and recovery wrote its outcome
SINCE_EVENTS = 50  # audit events read to say what happened since an out-of-date card was drawn


# a redelivered request: its first delivery was answered, so this one needs no view read to answer
ALREADY_HANDLED = "this request was already handled; nothing ran twice"


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
        record = await self.store.record(tenant_id, self._events_read)
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
            assess(tenant, run, now=now, limits=self.limits, past=past_of(record.events or ())),
            tuple(record.allocations or ()),
            tuple((record.events or ())[: self.events_shown]),
            tuple(problems),
            now,
            frozen,
        )

    def _events_read(self, tenant: Tenant) -> int:
        """The events a card shows, and before a later attempt enough of the feed for its `Past` (whether it
        wedged again after Reset and Retry: core/attempts.py); a first attempt has no Retry behind it."""
        return max(self.events_shown, PAST_EVENTS) if tenant.attempt > 1 else self.events_shown

    async def overview(self, limit: int = 50) -> list[TenantView]:
        """Views of the most recently changed tenants (for `tenantbot tenants` and `/tenant stuck`)."""
        tenants = await self.store.list(limit)
        return list(await asyncio.gather(*(self.view(t.id) for t in tenants)))

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

    async def act(
        self,
        action: Action,
        tenant_id: str,
        actor: str,
        *,
        request_key: str | None = None,
        seen: Seen | None = None,
        reason: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> ActionResult:
        """Run `action` on the tenant as `actor` if the decision table allows it right now and, with `seen`
        (what the pressed message showed, core/seen.py), only on the run it showed. `reason` is recorded
        with `<action>_started` and given to the engine where it takes one; `details` go into every audit
        event of the action (e.g. on whose behalf the CLI acted, the approved request, the batch)."""
        asked = _Asked(action, actor, request_key, seen, reason, dict(details or {}))
        with tenant_scope(tenant_id):  # the log lines of this action name its tenant (core/request_ids.py)
            result = await self._act(asked, tenant_id)
            log.info("%s by %s: %s (%s)", action.value, actor, result.outcome.value, result.message)
            return result

    async def _act(self, asked: _Asked, tenant_id: str) -> ActionResult:
        action, actor, reason = asked.action, asked.actor, asked.reason
        try:
            claim, current, note = await self._claim(asked, tenant_id)
        except _Stop as stop:
            if stop.unread:  # reading the view for the answer would wait as long again
                return ActionResult(action, tenant_id, actor, stop.outcome, stop.message, None)
            return await self._result(action, tenant_id, actor, stop.outcome, stop.message, stop.stale)
        try:
            outcome, message = await self._run(claim, current, _engine_reason(action, actor, reason), asked.extra)
        finally:
            self.lease.end(tenant_id)
            if self.after_action is not None:
                self.after_action()
        if note is not None and outcome is Outcome.DONE:
            message = f"{message}; {note}"
        return await self._result(action, tenant_id, actor, outcome, message)

    async def preview(self, action: Action, seen: Seen, actor: str) -> Preview | ActionResult:
        """What `action` would do to the tenant `seen` showed (core/previews.py), or why it could not run now,
        checked as `act` checks it: refused (audited, with the fresh view) while frozen, on an out-of-date
        card or in a situation that does not allow it; failed, as `act` fails, when the database or the
        engine does not answer (the engine's audited as `<action>_failed`). Raises TenantNotFound."""
        try:
            view = await self.view(seen.tenant_id)
        except StoreError as e:
            return ActionResult(action, seen.tenant_id, actor, Outcome.FAILED, str(e), None)
        tenant, assessment, stale = view.tenant, view.assessment, None
        if assessment.situation is Situation.ENGINE_UNREACHABLE and view.frozen is None:
            cause = "; ".join(view.problems)
            await self._audit(tenant.id, ev.failed(action), actor, cause=cause)
            return ActionResult(action, tenant.id, actor, Outcome.FAILED, f"{action.value} not started: {cause}", None)
        if view.frozen is not None:
            why = view.frozen.refusal(self.clock())
        elif not seen.same_run(tenant):
            stale = await self._staleness(seen, tenant, assessment.situation)
            why = stale.text()
        elif not assessment.allows(action):
            why = refusal(action, assessment)
        else:
            return preview(action, view, seen)
        await self._audit(tenant.id, ev.ACTION_REFUSED, actor, action=action.value, reason=why, seen=seen.details())
        return ActionResult(action, tenant.id, actor, Outcome.REFUSED, why, view, stale)

    async def _staleness(self, seen: Seen, tenant: Tenant, now: Situation) -> Staleness:
        """What happened since `seen` was drawn, from the audit feed (nothing named when it cannot be read)."""
        try:
            events = await self.store.events(tenant.id, SINCE_EVENTS)
        except StoreError:
            events = []
        return staleness(seen, tenant, now, events)

    async def _run(
        self, claim: ActionClaim, current: Tenant, why: str, extra: dict[str, object]
    ) -> tuple[Outcome, str]:
        """The engine call and the outcome, written with the claim released. An outcome that cannot be
        written leaves the claim to recovery (core/recovery.py), which writes it from the engine's state."""
        action, steps, tenant_id = claim.action, STEPS[claim.action], current.id
        try:
            started = await steps.call(self.engine, current, why)
        except EngineError as e:
            unrecorded = await self._finish(
                tenant_id, claim, lambda t: restore(t, claim), ev.failed(action), cause=str(e), **extra
            )
            return Outcome.FAILED, f"{action.value} failed: {e}{_unrecorded(unrecorded)}"
        kind = ev.completed(action) if steps.completes_now else None
        done = await self._finish(
            tenant_id, claim, lambda t: steps.on_done(t, started), kind, run=_describe(started), **extra
        )
        if done is not None:
            return Outcome.FAILED, f"{action.value} failed half-way: {steps.done_by_engine}{_unrecorded(done)}"
        return Outcome.DONE, _done_message(action, steps.completes_now)

    async def _claim(self, asked: _Asked, tenant_id: str) -> tuple[ActionClaim, Tenant, str | None]:
        """Claim the row for the action, or stop (_Stop) with why not; with the note on what changed since
        the pressed message was drawn, when the situation did but the run did not."""
        action, actor, request_key, seen, extra = asked.action, asked.actor, asked.request_key, asked.seen, asked.extra
        for _ in range(CLAIM_ATTEMPTS):
            try:
                tenant = await self.store.get(tenant_id)
                if tenant is None:
                    raise TenantNotFound(tenant_id)
                # The key after the row: a first delivery that claimed the row since wrote its key with the
                # claim, so a redelivery is told apart from another operator's press (refused: under way);
                # and before the engine is asked: a duplicate costs no describe.
                if request_key is not None and await self.store.seen_request(request_key):
                    raise _Stop(Outcome.DUPLICATE, ALREADY_HANDLED, unread=True)
                run, _problems = await self._describe(tenant)
                if await self.recovery.settle_if_due(tenant):
                    continue  # a crash had left an action unfinished: settled, so decide on the fresh row
            except (TenantNotFound, StoreError) as e:
                outcome = Outcome.FAILED if isinstance(e, StoreError) else Outcome.REFUSED
                raise _Stop(outcome, str(e), unread=True) from e
            await self._unless_frozen(action, tenant_id, actor, extra)
            now = self.clock()
            assessment = assess(tenant, run, now=now, limits=self.limits)
            if seen is not None and not seen.same_run(tenant):
                stale = await self._staleness(seen, tenant, assessment.situation)
                why = stale.text()
                await self._audit(
                    tenant_id, ev.ACTION_REFUSED, actor, action=action.value, reason=why, seen=seen.details(), **extra
                )
                raise _Stop(Outcome.REFUSED, why, stale=stale)
            if assessment.situation is Situation.ENGINE_UNREACHABLE:
                cause = "; ".join(_problems)
                await self._audit(tenant_id, ev.failed(action), actor, cause=cause, **extra)
                raise _Stop(Outcome.FAILED, f"{action.value} not started: {cause}", unread=True)
            if not assessment.allows(action):
                reason = refusal(action, assessment)
                await self._audit(tenant_id, ev.ACTION_REFUSED, actor, action=action.value, reason=reason, **extra)
                raise _Stop(Outcome.REFUSED, reason)
            claim = claim_for(action, tenant, actor, now, self.lease.id)
            situation = assessment.situation.key
            step = tenant.current_step if action is Action.RESET else None  # where it wedged: see core/decisions.Past
            said = {"reason": asked.reason} if asked.reason is not None else {}
            event = self._event(
                tenant_id,
                ev.started(action),
                actor,
                situation=situation,
                request=request_key,
                step=step,
                **{**extra, **said},
            )
            self.lease.begin(tenant_id)  # before the claim is written: this process's recovery must not touch it
            written = False
            try:
                await self.lease.hold()  # the claim names this process, so it must be known alive first
                current = await self.store.save(claimed(tenant, claim), [event], request_key=request_key)
                written = True
                return claim, current, situation_note(seen, assessment.situation) if seen is not None else None
            except ConcurrentUpdate:
                continue
            except DuplicateRequest as e:
                raise _Stop(Outcome.DUPLICATE, ALREADY_HANDLED, unread=True) from e
            except StoreError as e:
                raise _Stop(Outcome.FAILED, f"{action.value} not started: {e}", unread=True) from e
            finally:
                if not written:
                    self.lease.end(tenant_id)  # `act` ends it once the claimed action is over
        raise _Stop(Outcome.REFUSED, "the tenant kept changing while deciding; look again and retry")

    async def _unless_frozen(self, action: Action, tenant_id: str, actor: str, extra: dict[str, object]) -> None:
        """Stop here while tenantbot is frozen (refused and audited with who froze it, when and why), or when
        the switch cannot be read (fail closed: nothing runs on a switch that might be on)."""
        try:
            freeze = await self.switch.state()
        except StoreError as e:
            raise _Stop(Outcome.FAILED, f"{action.value} not started: {e}", unread=True) from e
        if freeze is not None:
            reason = freeze.refusal(self.clock())
            await self._audit(tenant_id, ev.ACTION_REFUSED, actor, action=action.value, reason=reason, **extra)
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
        """An audit event; it names the request that caused it (a Slack request, a command), if any."""
        details = {**details, "request_id": current_request_id()}  # last: the reason reads first
        return AuditEvent(tenant_id, kind, actor, self.clock(), {k: v for k, v in details.items() if v is not None})

    async def _result(
        self, action: Action, tenant_id: str, actor: str, outcome: Outcome, message: str, stale: Staleness | None = None
    ) -> ActionResult:
        try:
            view: TenantView | None = await self.view(tenant_id)
        except (TenantNotFound, StoreError):
            view = None
        return ActionResult(action, tenant_id, actor, outcome, message, view, stale)

    async def refuse(self, action: Action, tenant_id: str, actor: str, reason: str) -> ActionResult:
        """Record a press that was not allowed to run (e.g. not authorized) and answer with the current view.

        Raises TenantNotFound (nothing recorded: there is nothing to refuse) or StoreError."""
        if await self.store.get(tenant_id) is None:
            raise TenantNotFound(tenant_id)
        await self._audit(tenant_id, ev.ACTION_REFUSED, actor, action=action.value, reason=reason)
        return await self._result(action, tenant_id, actor, Outcome.REFUSED, reason)

    async def create(self, tenant_id: str, actor: str, *, details: Mapping[str, object] | None = None) -> Tenant:
        """Record a new pending tenant; `act(RETRY, ...)` then starts its first attempt."""
        now = self.clock()
        tenant = Tenant(id=tenant_id, state=TenantState.PENDING, created_at=now, last_progress_at=now)
        event = self._event(tenant_id, ev.REQUESTED, actor, **(details or {}))
        return await self.store.add(tenant, [event])


@dataclass(frozen=True)
class _Asked:
    """One call of `act`: what to run, for whom, and what the pressed message showed."""

    action: Action
    actor: str
    request_key: str | None
    seen: Seen | None
    reason: str | None
    extra: dict[str, object] = field(default_factory=dict)  # details for every audit event of the action


class _Stop(Exception):
    """The action ends before it ran. `unread`: the tenant is not there, or the database or the engine did
    not answer, so the answer goes without a fresh view (and within one READ_TIMEOUT). `stale`: refused
    because the pressed message showed another run."""

    def __init__(self, outcome: Outcome, message: str, *, unread: bool = False, stale: Staleness | None = None) -> None:
        super().__init__(message)
        self.outcome, self.message, self.unread, self.stale = outcome, message, unread, stale


def _engine_reason(action: Action, actor: str, reason: str | None) -> str:
    """The terminate or cancel reason Temporal records (and shows in its history and Web UI)."""
    if reason is None:
        return f"tenantbot {action.value} by {actor}"
    return f"tenantbot {action.value} by {actor}: {reason}"


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
