"""The reset nudge: a Reset that nobody followed with Retry or Decommission gets one reminder.

Reset alone recovers nothing: it leaves the tenant Pending, still holding its allocations, and the guide's
next step (Retry, or Decommission) is a second press that is easy to forget once the alert has resolved.
So `RESET_NUDGE_AFTER` (30 min) after a Reset that is still the tenant's last word, the resetter gets one
message: in the thread of the tenant's alert (or its digest) when it was posted, else directly (a DM) when
the resetter is a chat user; a Reset from the command line with no alert is not nudged.

While tenantbot is frozen nobody is nudged (Retry and Decommission would be refused); the nudges due go
out at the first tick after the unfreeze. Once per Reset, across replicas and restarts: the scan runs it
under its lease, and each nudge is recorded (`reset_nudged`, naming the Reset's time) before it is sent,
in the same feed it is checked against, with the row's version checked and a request key naming the
Reset, so even two replicas whose leases overlapped record it once. A send that fails is recorded as
`reset_nudge_failed` and not tried again (a reminder, not an alert). The feed is read once per tenant
and row version: a tenant waiting for its nudge is not read every tick.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import events as ev
from core.alerting.ports import AlertStore, Notifier, NotifyError
from core.domain import Action, AuditEvent
from core.ports import ConcurrentUpdate, DuplicateRequest, StoreError, TenantStore

log = logging.getLogger(__name__)
FEED = 20  # newest events read per tenant: a Reset writes two, its alert's resolution one
CHAT_USER = re.compile(r"^[UW][A-Z0-9]+$")  # who pressed in Slack (a user id; bot/blocks/common.SLACK_USER)
FOLLOWED_BY = frozenset({ev.started(Action.RETRY), ev.started(Action.DECOMMISSION), ev.RESET_NUDGED})


@dataclass(frozen=True)
class ResetNudge:
    tenant_id: str
    resetter: str
    reset_at: datetime


def unfollowed_reset(events: Sequence[AuditEvent]) -> ResetNudge | None:
    """The tenant's last Reset, if nothing followed it yet: no Retry, no Decommission, no nudge (newest first)."""
    for event in events:
        if event.type in FOLLOWED_BY:
            return None
        if event.type == ev.completed(Action.RESET):
            return ResetNudge(event.tenant_id, event.actor, event.at)
    return None


class ResetNudges:
    def __init__(
        self,
        store: TenantStore,
        alerts: AlertStore,
        notifier: Notifier,
        *,
        after: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.store, self.alerts, self.notifier, self.after, self.clock = store, alerts, notifier, after, clock
        self._checked: dict[str, tuple[int, datetime | None]] = {}  # tenant -> (row version, due at; None: none)

    async def run(self, idle: Mapping[str, int], now: datetime, keep_lease: Callable[[], Awaitable[None]]) -> int:
        """Nudge the resetters of the `idle` tenants (id -> row version) whose Reset is due; how many."""
        due = [n for tenant_id, version in sorted(idle.items()) if (n := await self._due(tenant_id, version, now))]
        self._checked = {t: kept for t, kept in self._checked.items() if t in idle}
        if not due:
            return 0
        threads = {t: a.message_ref for t, a in (await self.alerts.latest_alerts([n.tenant_id for n in due])).items()}
        places: dict[tuple[str | None, str], list[ResetNudge]] = defaultdict(list)
        for nudge in due:
            thread = threads.get(nudge.tenant_id)
            if thread is not None or CHAT_USER.fullmatch(nudge.resetter):
                places[(thread, nudge.resetter)].append(nudge)
        sent = 0
        for (thread, resetter), nudges in places.items():
            sent += await self._send(thread, resetter, nudges, idle, keep_lease)
        for nudge in due:  # recorded, or nobody to tell: done with this Reset (a row that moved is read again)
            self._checked[nudge.tenant_id] = (idle[nudge.tenant_id], None)
        return sent

    async def _due(self, tenant_id: str, version: int, now: datetime) -> ResetNudge | None:
        kept = self._checked.get(tenant_id)
        if kept is not None and kept[0] == version and (kept[1] is None or now < kept[1]):
            return None
        try:
            nudge = unfollowed_reset(await self.store.events(tenant_id, FEED))
        except StoreError as e:
            log.warning("reset nudge: could not read %s's audit feed (tried again next tick): %s", tenant_id, e)
            return None
        if nudge is None or now - nudge.reset_at < self.after:
            self._checked[tenant_id] = (version, nudge.reset_at + self.after if nudge else None)
            return None
        return nudge

    async def _send(
        self,
        thread: str | None,
        resetter: str,
        nudges: list[ResetNudge],
        versions: Mapping[str, int],
        keep_lease: Callable[[], Awaitable[None]],
    ) -> int:
        """Record, then send: a nudge is never sent twice, even if this replica dies in between."""
        await keep_lease()
        where = {"thread": thread} if thread else {"direct": resetter}
        recorded = [n for n in nudges if await self._record(n, versions[n.tenant_id], where)]
        if not recorded:
            return 0
        try:
            await self.notifier.remind_reset(thread, resetter, recorded)
        except NotifyError as e:
            log.warning("reset nudge to %s not sent: %s", resetter, e)
            cause = {"cause": str(e)}
            at = self.clock()
            await self.store.append(
                [AuditEvent(n.tenant_id, ev.RESET_NUDGE_FAILED, ev.SCHEDULER_ACTOR, at, cause) for n in recorded]
            )
            return 0
        return len(recorded)

    async def _record(self, nudge: ResetNudge, version: int, where: dict[str, str]) -> bool:
        """`reset_nudged` on the row as the sweep read it, under a request key naming this Reset: of two
        replicas whose leases overlapped, or a retry after a lost answer, exactly one records it. A row
        that moved since (a Retry pressed meanwhile) is decided again on the next tick."""
        tenant = await self.store.get(nudge.tenant_id)
        if tenant is None or tenant.version != version:
            return False
        details = {"reset_at": nudge.reset_at.isoformat(), **where}
        event = AuditEvent(nudge.tenant_id, ev.RESET_NUDGED, ev.SCHEDULER_ACTOR, self.clock(), details)
        try:
            await self.store.save(tenant, [event], request_key=f"reset_nudge:{nudge.tenant_id}:{details['reset_at']}")
        except (ConcurrentUpdate, DuplicateRequest):
            return False
        return True
