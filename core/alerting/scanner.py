"""One scan tick: find wedged tenants, then open, revise, remind, resolve and post their alerts.

An alert whose tenant has an operator action unfinished (a claimed row) stays open and says so; it is
resolved once the action has its outcome (core/recovery.py settles one a crash left behind).

Ticks run under a database lease so one replica scans at a time; the lease is renewed before every
Slack call and the tick stops as soon as it is lost. Each episode is recorded before it is posted and
each post claims its message first (`Delivery`), so a post that fails (Slack down, rate limited) is
retried later and never lost, and none is posted twice. Every change is a guarded, column-targeted
write, so a snooze made during a tick is never overwritten. Many new episodes in one tick (a mass
wedge) become one digest, re-rendered as its members change, with one batched thread reply per tick.
With AUTO_RECOVER, the tick ends by starting Reset and Retry batches for the situations that need no
judgement (core/auto_recovery.py), still under the lease, and announcing each in the alert channel.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from core import events as ev
from core.alerting.delivery import Delivery
from core.alerting.model import REFRESH_EVERY, Alert, batch, plan
from core.alerting.nudges import ResetNudges
from core.alerting.ports import AlertStore, Notifier, NotifyError
from core.auto_recovery import AutoRecovery
from core.batches import Batch
from core.decisions import Assessment
from core.domain import AuditEvent
from core.freeze import FreezeStore
from core.home import HomeStore
from core.ports import Leases, StoreError, TenantStore
from core.wedged import WedgeFinder

log = logging.getLogger(__name__)
SCAN_LOCK = "scan"
QUIET_EVENTS = (
    ev.WRITE_REJECTED,
    ev.ACTION_REFUSED,
    ev.ALERT_OPENED,
    ev.ALERT_SNOOZED,
    ev.ALERT_RESOLVED,
    ev.ALERT_CLAIMED,
    ev.RESET_NUDGED,
    ev.RESET_NUDGE_FAILED,
)


class LeaseLost(Exception):
    """Another replica holds the scan lease now: this tick stops before its next Slack call."""


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
    delivered: int = 0  # edits/replies sent
    nudged: int = 0  # resetters reminded of a Reset nobody followed (core/alerting/nudges.py)
    auto_batches: int = 0  # batches auto-recovery started (core/auto_recovery.py)
    lease_lost: bool = False
    situations: dict[str, int] = field(default_factory=dict)  # wedged tenants by situation key (for metrics)


class Scanner:
    def __init__(
        self,
        store: TenantStore,
        alerts: AlertStore,
        notifier: Notifier,
        finder: WedgeFinder,
        *,
        leases: Leases,
        holder: str,
        clock: Callable[[], datetime],
        lease: timedelta = timedelta(minutes=2),
        digest_from: int = 5,
        claim_ttl: timedelta = timedelta(minutes=5),
        refresh_every: timedelta = REFRESH_EVERY,
        freezes: FreezeStore | None = None,
        reset_nudge_after: timedelta | None = None,
        ticks: HomeStore | None = None,
        auto: AutoRecovery | None = None,
    ) -> None:
        self.store, self.alerts, self.notifier, self.finder, self.leases = store, alerts, notifier, finder, leases
        self.holder, self.clock, self.lease, self.digest_from = holder, clock, lease, digest_from
        self.refresh_every = refresh_every
        self.ticks = ticks  # where a finished tick is recorded, for the App Home's "last scan" (core/home.py)
        self.delivery = Delivery(alerts, notifier, holder=holder, clock=clock, claim_ttl=claim_ttl, freezes=freezes)
        self.nudges: ResetNudges | None = None  # off unless asked for (RESET_NUDGE_AFTER), and never in a dry run
        if reset_nudge_after is not None and not notifier.dry_run:
            self.nudges = ResetNudges(store, alerts, notifier, after=reset_nudge_after, clock=clock)
        self.auto = auto if not notifier.dry_run else None  # off unless asked for (AUTO_RECOVER); never in a dry run
        self._unannounced: list[Batch] = []  # auto batches whose announcement failed: tried again next tick

    async def tick(self) -> TickReport:
        if not await self.leases.try_lock(SCAN_LOCK, self.holder, now=self.clock(), ttl=self.lease):
            return TickReport(ran=False)
        try:
            return await self._tick(self.clock())
        except LeaseLost:
            log.warning("the scan lease ran out mid-tick and another replica took it; this tick stops here")
            return TickReport(ran=True, lease_lost=True)
        finally:
            try:
                await self.leases.unlock(SCAN_LOCK, self.holder)
            except StoreError as e:
                log.warning("could not release the scan lease (it expires by itself): %s", e)

    async def keep_lease(self) -> None:
        if not await self.leases.try_lock(SCAN_LOCK, self.holder, now=self.clock(), ttl=self.lease):
            raise LeaseLost()

    async def _tick(self, now: datetime) -> TickReport:
        sweep = await self.finder.sweep(now)
        busy = {t.id: t.claim for t in await self.store.claimed() if t.claim is not None}
        open_alerts = await self.alerts.open_alerts()
        todo = plan(open_alerts, sweep.wedged, now=now, busy=busy, refresh_every=self.refresh_every)
        opened = await self._open(todo.open, now)
        digests: dict[int, list[str]] = defaultdict(list)  # digest -> lines of its batched reply
        before = {a.id: a for a in open_alerts}
        for alert in todo.revise:
            await self._revise(alert, before[alert.id], now, digests)
        for alert in todo.remind:
            await self._remind(alert, digests)
        resolved = [a for a in todo.resolve if await self._resolve(a, now, digests)]
        for digest_id, lines in digests.items():
            await self.alerts.touch_digest(digest_id, batch(lines))
        unposted = opened + todo.post
        posted = await self.delivery.post(unposted, self.keep_lease)
        delivered = await self.delivery.flush(self.keep_lease)
        nudged = 0
        if self.nudges is not None and not await self._frozen():  # frozen: Retry would be refused
            nudged = await self.nudges.run(sweep.idle, now, self.keep_lease)
        started = await self._auto_recover(sweep.wedged, set(busy)) if self.auto is not None else 0
        counts = (len(opened), posted, len(resolved), len(unposted) - posted, delivered, nudged, started)
        situations = dict(Counter(a.situation.key for a in sweep.wedged.values()))
        await self._record(len(sweep.wedged))
        return TickReport(True, sweep.in_flight, sweep.described, len(sweep.wedged), *counts, situations=situations)

    async def _auto_recover(self, wedged: Mapping[str, Assessment], busy: set[str]) -> int:
        """Start the automatic batches (never while frozen) and announce each in the alert channel; serve's
        batch job runs them. An announcement that fails is tried again at the next tick of this process."""
        assert self.auto is not None
        await self.keep_lease()  # two replicas never start the same batch: the scan lease is held
        try:
            started = await self.auto.start(wedged, frozen=await self._frozen(), busy=busy)
            self._unannounced += started
            left = await self.auto.left_today() if self._unannounced else 0
        except StoreError as e:  # the alerts of this tick are done; the next tick tries again
            log.warning("auto-recovery skipped this tick: %s", e)
            return 0
        for new in started:  # at WARNING, the default level: the bot acted by itself
            log.warning("auto-recovery started batch %s: %s (%d tenants)", new.id, new.reason, new.total)
        while self._unannounced:
            await self.keep_lease()
            first = self._unannounced[0]
            try:
                posted = await self.notifier.announce_batch(first, left)
            except NotifyError as e:
                log.warning("auto batch %s not announced yet, trying again next tick: %s", first.id, e)
                break
            self._unannounced.pop(0)
            try:
                await self.auto.shown_at(first, posted)
            except StoreError as e:  # its progress is not shown there; the batch runs all the same
                log.warning("auto batch %s: where it was announced was not recorded: %s", first.id, e)
        return len(started)

    async def _record(self, wedged: int) -> None:
        """The tick finished: recorded for the App Home; a failure here costs the Home's line, not the tick."""
        if self.ticks is None:
            return
        try:
            await self.ticks.record_tick(self.holder, self.clock(), wedged)
        except StoreError as e:
            log.warning("could not record the scan tick's time: %s", e)

    async def _frozen(self) -> bool:
        """Whether tenantbot is read-only now (a switch that cannot be read counts as on, as for actions)."""
        try:
            return await self.delivery.freezes.current() is not None
        except StoreError:
            return True

    async def _open(self, new: list[Alert], now: datetime) -> list[Alert]:
        if len(new) >= self.digest_from:
            digest = await self.alerts.open_digest(now)
            new = [replace(a, digest_id=digest.id) for a in new]
        opened = [a for a in [await self.alerts.open_alert(a) for a in new] if a is not None]  # each may lose a race
        if opened:  # one write for the audit feed, not one per episode (a mass wedge opens hundreds)
            at = self.clock()
            await self.store.append(
                [
                    AuditEvent(a.tenant_id, ev.ALERT_OPENED, ev.SCHEDULER_ACTOR, at, {"situation": a.situation.key})
                    for a in opened
                ]
            )
        return opened

    async def _revise(self, alert: Alert, was: Alert, now: datetime, digests: dict[int, list[str]]) -> None:
        """Store the current situation, reason and cause; a digest is re-rendered only for a new situation
        or cause (its summary groups members by cause)."""
        assert alert.id is not None
        visible = not alert.in_digest
        if not await self.alerts.revise(
            alert.id, alert.situation, alert.reason, at=now, visible=visible, step=alert.step, error=alert.error
        ):
            return
        if alert.digest_id is not None and was.cause != alert.cause:
            digests.setdefault(alert.digest_id, [])

    async def _remind(self, alert: Alert, digests: dict[int, list[str]]) -> None:
        assert alert.id is not None and alert.snoozed_until is not None
        reply = None if alert.in_digest else f"Still wedged after the snooze: {alert.reason}"
        if not await self.alerts.wake(alert.id, alert.snoozed_until, reply):
            return  # snoozed again or resolved meanwhile
        if alert.digest_id is not None:
            digests[alert.digest_id].append(f"{alert.tenant_id} is still wedged after the snooze")
        if self.notifier.dry_run:
            await self.notifier.update_alert(alert)

    async def _resolve(self, alert: Alert, now: datetime, digests: dict[int, list[str]]) -> bool:
        assert alert.id is not None
        resolution, actor = await self._what_moved(alert)
        reply = f"Resolved: {resolution}." if alert.posted and not alert.in_digest else None
        if not await self.alerts.resolve(alert.id, now, resolution, reply):
            return False  # resolved meanwhile (another replica's tick)
        await self._audit(alert.tenant_id, ev.ALERT_RESOLVED, actor, resolution=resolution)
        if alert.digest_id is not None:
            digests[alert.digest_id].append(f"{alert.tenant_id} resolved: {resolution}")
        if self.notifier.dry_run:
            await self.notifier.update_alert(await self.alerts.alert(alert.id) or alert)
        return True

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

    async def _audit(self, tenant_id: str, kind: str, actor: str, **details: object) -> None:
        await self.store.append([AuditEvent(tenant_id, kind, actor, self.clock(), dict(details))])
