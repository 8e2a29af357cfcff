"""The alert channel's controls: what happens when Snooze or Take it is pressed, and the look-ups behind a
digest.

Snooze, in order: the alert must be the tenant's that the control names (else NOT_FOUND: a control
cannot point at another tenant's alert); whoever may not Reset may not snooze either, since a snooze
silences the channel's call to Reset (the same `Authorizer` as a Reset press decides; REFUSED with its
reason, audited; a directory that cannot answer refuses with "try again"); the snooze is one guarded
UPDATE (`WHERE id = ? AND resolved_at IS NULL`), so it never reopens a resolved episode and the snoozer
is told the truth when the alert was resolved first (ALREADY_RESOLVED); then it is audited and the
message (or its digest) is edited at once, for at most 2 s: what Slack or a claim refuses, the next
scan tick delivers.

Take it, in order: the same check that the alert is the tenant's; the same permission as Reset (who may
not act on the alert may not own it); the owner is set with a compare-and-set on the owner it had (`WHERE
owner IS <what was read>`), so of two people taking it at once one wins and the other is told who did;
taking an alert someone else owns is allowed — in an incident the one at the keyboard must be able to
take over — and answered and audited as a take-over (`alert_claimed` with the previous owner); then the
message is edited at once like a snooze. Taking is not an action on a tenant, so it works while
tenantbot is frozen.

`AlertControls` is built beside the `Scanner` (tenantbot/bootstrap.py) and shares its `Delivery`: the
same notifier (one pace for every Slack call of the channel) and the same message claims, which keep a
press and a tick from both sending one message's pending reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core import events as ev
from core.alerting.delivery import Delivery
from core.alerting.model import Alert, Digest
from core.alerting.ports import AlertStore, NotifyError
from core.authz import Authorizer
from core.domain import Action, AuditEvent
from core.ports import TenantStore

log = logging.getLogger(__name__)
SHOW_WITHIN_S = 2.0
NEEDS_RESET = "Snoozing an alert needs the same permission as Reset (the Reset allow-list), so nothing changed."
TAKE_NEEDS_RESET = "Taking an alert needs the same permission as Reset (the Reset allow-list), so nothing changed."
TAKE_ATTEMPTS = 3


class TakeOutcome(StrEnum):
    TAKEN = "taken"
    TAKEN_OVER = "taken over"  # from `previous`
    ALREADY_YOURS = "already yours"
    CONTESTED = "kept changing hands"  # taken by others at every attempt: the alert says whose it is now
    ALREADY_RESOLVED = "already resolved"
    NOT_FOUND = "no such alert"
    REFUSED = "not allowed"


@dataclass(frozen=True)
class TakeResult:
    outcome: TakeOutcome
    alert: Alert | None = None
    previous: str | None = None  # who owned it before a take-over
    reason: str | None = None  # why it was REFUSED


class SnoozeOutcome(StrEnum):
    SNOOZED = "snoozed"
    ALREADY_RESOLVED = "already resolved"
    NOT_FOUND = "no such alert"
    REFUSED = "not allowed"


@dataclass(frozen=True)
class SnoozeResult:
    outcome: SnoozeOutcome
    alert: Alert | None = None
    reason: str | None = None  # why it was REFUSED, for the snoozer


class AlertControls:
    def __init__(
        self,
        store: TenantStore,
        alerts: AlertStore,
        delivery: Delivery,
        authorizer: Authorizer,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.store, self.alerts, self.delivery, self.clock = store, alerts, delivery, clock
        self.authorizer = authorizer

    async def alert_of(self, alert_id: int, tenant_id: str) -> Alert | None:
        """The alert, if it exists and is the named tenant's (a control cannot point at another's), with the
        read-only switch as it is now (a digest member's alert is shown from it)."""
        alert = await self.alerts.alert(alert_id)
        return await self.delivery.as_shown(alert) if alert is not None and alert.tenant_id == tenant_id else None

    async def digest_open_members(self, digest_id: int) -> list[Alert]:
        """The still-wedged members of a digest, by tenant id (what its pages list)."""
        return [a for a in await self.alerts.digest_members(digest_id) if a.resolved_at is None]

    async def snooze(self, alert_id: int, tenant_id: str, until: datetime, actor: str) -> SnoozeResult:
        alert = await self.alert_of(alert_id, tenant_id)
        if alert is None:
            return SnoozeResult(SnoozeOutcome.NOT_FOUND)
        refusal = await self.authorizer.refusal(Action.RESET, actor)
        if refusal is not None:
            reason = refusal.reason if refusal.unchecked else NEEDS_RESET
            await self._note(tenant_id, ev.ACTION_REFUSED, actor, action="snooze", reason=reason)
            return SnoozeResult(SnoozeOutcome.REFUSED, alert, reason)
        if not await self.alerts.snooze(alert_id, until, actor):
            return SnoozeResult(SnoozeOutcome.ALREADY_RESOLVED, await self.alerts.alert(alert_id))
        await self._note(tenant_id, ev.ALERT_SNOOZED, actor, until=until.isoformat())
        await self._show_now(alert)
        return SnoozeResult(SnoozeOutcome.SNOOZED, await self.alerts.alert(alert_id))

    async def take(self, alert_id: int, tenant_id: str, actor: str) -> TakeResult:
        alert = await self.alert_of(alert_id, tenant_id)
        if alert is None:
            return TakeResult(TakeOutcome.NOT_FOUND)
        refusal = await self.authorizer.refusal(Action.RESET, actor)
        if refusal is not None:
            reason = refusal.reason if refusal.unchecked else TAKE_NEEDS_RESET
            await self._note(tenant_id, ev.ACTION_REFUSED, actor, action="take", reason=reason)
            return TakeResult(TakeOutcome.REFUSED, alert, reason=reason)
        for _ in range(TAKE_ATTEMPTS):  # someone else may take it between the read and the write
            if alert.resolved_at is not None:
                return TakeResult(TakeOutcome.ALREADY_RESOLVED, alert)
            if alert.owner == actor:
                return TakeResult(TakeOutcome.ALREADY_YOURS, alert)
            if await self.alerts.take(alert_id, actor, self.clock(), was=alert.owner):
                await self._note(tenant_id, ev.ALERT_CLAIMED, actor, alert=alert_id, previous=alert.owner)
                await self._show_now(alert)
                outcome = TakeOutcome.TAKEN if alert.owner is None else TakeOutcome.TAKEN_OVER
                return TakeResult(outcome, await self.alerts.alert(alert_id), previous=alert.owner)
            fresh = await self.alerts.alert(alert_id)
            if fresh is None:
                return TakeResult(TakeOutcome.NOT_FOUND)
            alert = fresh
        return TakeResult(TakeOutcome.CONTESTED, alert)

    async def _show_now(self, alert: Alert) -> None:
        """Edit the message right away; if Slack or the claim says no, the next tick retries it."""
        message: Alert | Digest | None = alert
        if alert.digest_id is not None:
            await self.alerts.touch_digest(alert.digest_id, None)
            message = await self.alerts.digest(alert.digest_id)
        if message is None or not message.posted:
            return
        try:  # bounded: the presser's answer must not wait behind a busy scan's 1-per-second pacing
            await asyncio.wait_for(self.delivery.deliver(message), SHOW_WITHIN_S)
        except (NotifyError, TimeoutError) as e:
            log.warning("the snooze is recorded; its message will be updated on the next tick: %s", e or "busy")

    async def _note(self, tenant_id: str, kind: str, actor: str, **details: object) -> None:
        shown = {k: v for k, v in details.items() if v is not None}
        await self.store.append([AuditEvent(tenant_id, kind, actor, self.clock(), shown)])
