"""One scan tick: find wedged tenants, then open, post, update, remind and resolve their alerts.

Ticks run under a database lease so one replica scans at a time, and each episode is recorded before
it is posted, so a post that fails (Slack down, rate limited) is retried on a later tick and never
lost, while the open-episode uniqueness in the database keeps it from being posted twice. Many new
episodes in one tick (a mass wedge) become one digest message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core import events as ev
from core.alerts import Alert, plan
from core.domain import AuditEvent
from core.ports import AlertStore, Notifier, NotifyError, TenantStore
from core.wedged import WedgeFinder

log = logging.getLogger(__name__)
SCAN_LOCK = "scan"
QUIET_EVENTS = (ev.WRITE_REJECTED, ev.ACTION_REFUSED, ev.ALERT_OPENED, ev.ALERT_SNOOZED, ev.ALERT_RESOLVED)


@dataclass(frozen=True)
class TickReport:
    ran: bool
    in_flight: int = 0
    described: int = 0
    wedged: int = 0
    opened: int = 0
    posted: int = 0
    resolved: int = 0
    unposted: int = 0


class Scanner:
    def __init__(
        self,
        store: TenantStore,
        alerts: AlertStore,
        notifier: Notifier,
        finder: WedgeFinder,
        *,
        holder: str,
        clock: Callable[[], datetime],
        lease: timedelta = timedelta(minutes=2),
        digest_from: int = 5,
    ) -> None:
        self.store, self.alerts, self.notifier, self.finder = store, alerts, notifier, finder
        self.holder, self.clock, self.lease, self.digest_from = holder, clock, lease, digest_from

    async def tick(self) -> TickReport:
        now = self.clock()
        if not await self.alerts.try_lock(SCAN_LOCK, self.holder, now=now, ttl=self.lease):
            return TickReport(ran=False)
        try:
            return await self._tick(now)
        finally:
            await self.alerts.unlock(SCAN_LOCK, self.holder)

    async def _tick(self, now: datetime) -> TickReport:
        sweep = await self.finder.sweep(now)
        todo = plan(await self.alerts.open_alerts(), sweep.wedged, now=now)
        opened = [a for a in [await self.alerts.open_alert(a) for a in todo.open] if a is not None]
        for alert in opened:
            await self._audit(alert.tenant_id, ev.ALERT_OPENED, ev.SCHEDULER_ACTOR, situation=alert.situation)
        posted = await self._post(opened + todo.post)
        for alert in todo.update:
            await self._edit(await self.alerts.save_alert(alert))
        for alert in todo.remind:
            await self._say(await self.alerts.save_alert(alert), f"Still wedged after the snooze: {alert.reason}")
        for alert in todo.resolve:
            await self._resolve(alert, now)
        unposted = len(opened) + len(todo.post) - posted
        return TickReport(
            True, sweep.in_flight, sweep.described, len(sweep.wedged), len(opened), posted, len(todo.resolve), unposted
        )

    async def _post(self, alerts: list[Alert]) -> int:
        """Post new alerts (one digest when many); stop at the first failure and leave the rest for later."""
        posted = 0
        try:
            if len(alerts) >= self.digest_from:
                ref = await self.notifier.post_digest(alerts)
                for alert in alerts:
                    await self.alerts.save_alert(replace(alert, message_ref=ref, in_digest=True))
                return len(alerts)
            for alert in alerts:
                ref = await self.notifier.post_alert(alert)
                await self.alerts.save_alert(replace(alert, message_ref=ref))
                posted += 1
        except NotifyError as e:
            log.warning("%d alert(s) not posted yet, retrying next tick: %s", len(alerts) - posted, e)
        return posted

    async def _resolve(self, alert: Alert, now: datetime) -> None:
        resolution, actor = await self._what_moved(alert)
        saved = await self.alerts.save_alert(replace(alert, resolved_at=now, resolution=resolution))
        await self._audit(alert.tenant_id, ev.ALERT_RESOLVED, actor, resolution=resolution)
        if saved.posted:
            if not saved.in_digest:
                await self._edit(saved)
            await self._say(saved, f"Resolved: {resolution}.")

    async def snooze(self, alert_id: int, until: datetime, actor: str) -> Alert | None:
        alert = await self.alerts.alert(alert_id)
        if alert is None or alert.resolved_at is not None:
            return alert
        saved = await self.alerts.save_alert(replace(alert, snoozed_until=until, snoozed_by=actor))
        await self._audit(alert.tenant_id, ev.ALERT_SNOOZED, actor, until=until.isoformat())
        if saved.posted and not saved.in_digest:
            await self._edit(saved)
        return saved

    async def _what_moved(self, alert: Alert) -> tuple[str, str]:
        """The first change since the episode opened, e.g. ("reset_completed by U123", "U123")."""
        moved = [
            e
            for e in reversed(await self.store.events(alert.tenant_id, 50))
            if e.at >= alert.opened_at and e.type not in QUIET_EVENTS and not e.type.endswith("_started")
        ]
        if not moved:
            return "the tenant is no longer wedged", ev.SCHEDULER_ACTOR
        first = moved[0]
        return f"{first.type.removeprefix(ev.PREFIX)} by {first.actor}", first.actor

    async def _edit(self, alert: Alert) -> None:
        try:
            await self.notifier.update_alert(alert)
        except NotifyError as e:
            log.warning("could not update the alert of %s: %s", alert.tenant_id, e)

    async def _say(self, alert: Alert, text: str) -> None:
        try:
            await self.notifier.reply(alert, text)
        except NotifyError as e:
            log.warning("could not reply to the alert of %s: %s", alert.tenant_id, e)

    async def _audit(self, tenant_id: str, kind: str, actor: str, **details: object) -> None:
        await self.store.append([AuditEvent(tenant_id, kind, actor, self.clock(), dict(details))])
