"""The world of the scan's unit tests (wedge finder, scanner, controls): fake tenants and engine, alerts
in a real SQLite file (the alert store's guarantees are its SQL), a notifier that records what would
reach Slack, a settable clock."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from core.alerting.controls import AlertControls
from core.alerting.scanner import Scanner
from core.authz import AllowList, Authorizer, Policy
from core.decisions import Limits
from core.domain import Action, AuditEvent, RunObservation, RunStatus, Tenant, TenantState, provisioning_handle
from core.persistence import Database
from core.wedged import Sweep, WedgeFinder
from tests.alert_fakes import RecordingNotifier
from tests.fakes import FakeDirectory, FakeEngine, InMemoryStore, at

# who may Reset, and so Snooze
RESETTERS = Policy({Action.RESET: AllowList(users=frozenset({"U8", "U9"}), groups=frozenset({"S0ONCALL"}))})


class World:
    def __init__(self, database: Database) -> None:
        self.now = at(30)
        self.store, self.engine = InMemoryStore(), FakeEngine()
        self.engine.clock = self.clock  # runs close on the test's clock, as closed_since reads them
        self.alerts, self.leases, self.slack = database.alerts, database.leases, RecordingNotifier()
        self.freezes = database.freezes  # the read-only switch, for scanners built with `freezes=world.freezes`
        self.batches = database.batches  # where auto-recovery records its batches (core/auto_recovery.py)
        self.finder = WedgeFinder(self.store, self.engine, Limits(), describe_budget=3)
        self.directory = FakeDirectory({"S0ONCALL": {"U7"}})

    def clock(self) -> datetime:
        return self.now

    def scanner(self, holder: str = "replica-1", **options: object) -> Scanner:
        return Scanner(
            self.store,
            self.alerts,
            self.slack,
            self.finder,
            leases=self.leases,
            holder=holder,
            clock=self.clock,
            **options,  # type: ignore[arg-type]
        )

    def controls(self, scanner: Scanner | None = None) -> AlertControls:
        """The alert channel's controls beside `scanner` (a new one by default), sharing its delivery."""
        delivery = (scanner or self.scanner()).delivery
        return AlertControls(self.store, self.alerts, delivery, Authorizer(RESETTERS, self.directory), clock=self.clock)

    async def tenant(
        self, tenant_id: str, *, stuck: bool = True, known: bool = True, state: TenantState = TenantState.PROVISIONING
    ) -> Tenant:
        handle = provisioning_handle(tenant_id, 1)
        progress = at(10) if stuck else at(29)
        tenant = Tenant(tenant_id, state, at(0), handle=handle, attempt=1, last_progress_at=progress)
        await self.store.add(tenant, [])
        if known:
            self.engine.set(handle, RunObservation(RunStatus.RUNNING, "seed_data", 1, progress, timedelta(seconds=60)))
        return tenant

    async def move(self, tenant_id: str, actor: str = "U123") -> None:
        """Reset the tenant as an operator would: pending, no handle, audited."""
        tenant = self.store.tenants[tenant_id]
        event = AuditEvent(tenant_id, "tenant.provisioning.reset_completed", actor, self.now)
        await self.store.save(tenant.updated(state=TenantState.PENDING, handle=None), [event])

    def calls(self, kind: str) -> int:
        return len([c for c in self.engine.calls if c[0] == kind])

    async def sweep(self, minutes_later: float = 0) -> tuple[Sweep, Counter[str]]:
        """Move the clock on, sweep, and say which engine calls that sweep made."""
        self.now += timedelta(minutes=minutes_later)
        before = len(self.engine.calls)
        sweep = await self.finder.sweep(self.now)
        return sweep, Counter(kind for kind, _ in self.engine.calls[before:])

    async def only_alert(self) -> int:
        [alert] = await self.alerts.open_alerts()
        assert alert.id is not None
        return alert.id


async def wedge(world: World, count: int) -> None:
    """`count` stuck tenants, t000, t001, … (five or more in one tick make a digest)."""
    for i in range(count):
        await world.tenant(f"t{i:03d}")
