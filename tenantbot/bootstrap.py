"""The composition root: builds every part of the app from `Settings`, once, for every entry point.

Nothing here runs on import. `runtime()` opens the database (applying migrations; one `Database` whose
stores share one engine), starts or connects to the workflow engine (the embedded Temporal dev server
unless TEMPORAL_ADDRESS is set), and yields every part the entry points use: the `TenantService`, the
wedge finder (shared by the scan, `/tenant stuck` and `tenants --wedged`), the button presses
(authorized with the given user directory), tenants' audit history, the links to their runs in
Temporal's Web UI, the daily retention run, and, given a notifier, the scanner with the alert channel's
controls beside it, and the announcer (actions and mentions the channel sees once; the service tells it
when an action ran, so `serve` announces at once). The notifier and the directory are the entry point's
(Slack for `serve`, the console for `scan` and the demo): they are the only parts that differ between
commands. The notifier is given as a function of the run-link look-up, because that look-up needs the
engine's Web UI, known only once the engine has started. The service and the scan read the read-only
switch (core/freeze.py), the one `tenantbot freeze` and `unfreeze` flip (`read_only_switch`). Decommission
from the chat takes two people (core/approvals.py, its requests kept within READ_TIMEOUT for APPROVAL_TTL).
The App Home's read model (core/home.py) reads the switch, the finder and the database's Home store,
where each scan tick records when it finished.

Given the app's metrics (`serve`), the ports the service, the finder and the scan call are counting
proxies (tenantbot/observed.py): every engine and database error is counted where it leaves its port.

The process's liveness lease (core/liveness.py) is renewed in the background while the runtime is open
and given back when it closes, so another replica can tell this process's unfinished actions from a
dead one's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.metrics import Metrics
from core.adapters.unreachable_engine import UnreachableEngine
from core.alerting.announcements import Announcer
from core.alerting.batch_offers import BatchOffers
from core.alerting.controls import AlertControls
from core.alerting.ports import Notifier
from core.alerting.scanner import SCAN_LOCK, Scanner
from core.approvals import Approvals
from core.authz import Authorizer, Directory, NoDirectory
from core.auto_recovery import AutoRecovery
from core.batch_runner import UNWATCHED, BatchRunner
from core.batches import BatchStore
from core.bounded import BoundedApprovals, BoundedFreezes, BoundedLeases, bounded_ports
from core.freeze import FreezeStore, Switch
from core.history import AuditHistory
from core.home import HomeReader, HomeStore
from core.liveness import ProcessLease
from core.ports import EngineError, Leases, WorkflowEngine
from core.presses import Presses
from core.recovery import Recovery
from core.results import utcnow
from core.retention import Retention, RetentionStore
from core.run_links import RunLinks, TenantLink
from core.saga import FaultPlan
from core.seen import ShownRun, shown_runs
from core.service import TenantService
from core.turns import Turns
from core.wedged import WedgeFinder
from tenantbot.crash import crashing
from tenantbot.observed import counted_engine, counted_store
from tenantbot.settings import Settings

if TYPE_CHECKING:  # the database's modules (SQLAlchemy, Alembic) load when a runtime opens, not at import
    from core.adapters.temporal_engine import TemporalEngine
    from core.persistence import Database


# the alerts' notifier, given the look-ups of a tenant's run link and of the run an alert's Reset acts on
NotifierFor = Callable[[TenantLink, ShownRun], Notifier]


def unlinked(notifier: Notifier) -> NotifierFor:
    """A notifier that shows no run links and no buttons (the console's)."""
    return lambda _link, _shown: notifier


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    engine: WorkflowEngine
    service: TenantService
    finder: WedgeFinder
    presses: Presses
    history: AuditHistory  # tenants' whole audit feeds, a page at a time
    links: RunLinks  # to each tenant's run in Temporal's Web UI
    tenant_link: TenantLink  # the link to a tenant's current run, for a message that knows only the tenant
    shown_run: ShownRun  # the run such a message's Reset acts on, as it is drawn (core/seen.py)
    retention: Retention  # the daily retention run, under the scan's lease with a holder of its own
    faults: FaultPlan  # what this process injects into the first attempts it starts (demo, provision --fault)
    approvals: Approvals  # two-person Decommission: requests, approvals and denials
    batches: BatchRunner  # batch Reset / Retry of a cause group, run under each batch's lease (core/batch_runner.py)
    scanner: Scanner | None = None  # the wedge scan, when the runtime was given a notifier
    controls: AlertControls | None = None  # Snooze, Take it and the digest menus, beside the scanner (its delivery)
    batch_offers: BatchOffers | None = None  # a digest's "Reset all N", beside the controls
    announcer: Announcer | None = None  # actions and mentions posted once, when the runtime was given a notifier
    engine_ping: Callable[[], Awaitable[None]] | None = None  # the engine answers (readiness, `/readyz`)
    home: HomeReader | None = None  # what the App Home shows each person (core/home.py)
    turns: Turns = field(default_factory=Turns)  # `/tenant` answers at once; the engine's reads step aside

    @property
    def recovery(self) -> Recovery:
        return self.service.recovery


def scan_lease(settings: Settings) -> timedelta:
    """How long the scan's lease lasts unless renewed (the scan and retention renew it as they go)."""
    return max(settings.scan_interval * 2, timedelta(seconds=30))


def build_retention(settings: Settings, rows: RetentionStore, leases: Leases, holder: str) -> Retention:
    """Retention under the scan's lease; its holder is its own, so this process's scan tick cannot renew or
    release the lease a prune holds (and the other way round). `serve` runs it daily, `tenantbot prune` once."""
    lease = scan_lease(settings)
    keep_for = settings.audit_retention
    return Retention(rows, leases, keep_for=keep_for, lock=SCAN_LOCK, holder=holder, clock=utcnow, lease=lease)


def auto_recovery(settings: Settings, batches: BatchStore) -> AutoRecovery | None:
    """The scan's own Reset and Retry batches, only when AUTO_RECOVER names situations (off by default)."""
    if not settings.auto_recover:
        return None
    return AutoRecovery(batches, settings.auto_recover, cap=settings.auto_recover_max, clock=utcnow)


def read_only_switch(settings: Settings, freezes: FreezeStore) -> Switch:
    """The read-only switch, each read and flip within READ_TIMEOUT: what the service reads at every action,
    and what `tenantbot freeze` and `unfreeze` flip (they open the database only)."""
    return Switch(BoundedFreezes(freezes, settings.read_timeout), clock=utcnow)


def home_reader(
    settings: Settings, store: HomeStore, switch: Switch, finder: WedgeFinder, *, scans: bool
) -> HomeReader:
    """The App Home's read model; it says the scan is late only when this deployment scans (a notifier)."""
    every = settings.scan_interval if scans else None
    return HomeReader(store, switch, finder, read_timeout=settings.read_timeout, clock=utcnow, scan_every=every)


def announcer_for(settings: Settings, database: Database, chat: Notifier, holder: str) -> Announcer:
    """Actions and mentions posted once (the serving process's; a dry run only records them)."""
    mention, after = settings.alert_mention, settings.alert_mention_after
    lines, alerts = database.announcements, database.alerts
    return Announcer(lines, alerts, chat, holder=holder, clock=utcnow, mention=mention, mention_after=after)


def assemble(
    settings: Settings,
    database: Database,
    engine: WorkflowEngine,
    faults: FaultPlan,
    links: RunLinks,
    notifier: NotifierFor | None,
    directory: Directory,
    metrics: Metrics | None = None,
    *,
    scan: bool = True,
) -> Runtime:
    """Every part, each built once and handed the parts it needs: the ports wrapped once with their time
    limits (core/bounded.py) for the service, its recovery, the liveness lease, the wedge finder, the audit
    history, the run links and the batch runner. The scan's own writes, retention's batches and the saga's worker
    (tenantbot/engine.py) use the database unbounded, as before."""
    crash_store, crash_engine = crashing(database.tenants, engine)  # only when a test asks (TENANTBOT_TEST_CRASH)
    turns = Turns()  # the answers to commands worked out at once (bot/listeners/commands.py takes them)
    store, bounded_engine = bounded_ports(crash_store, crash_engine, settings.timeouts, turns)
    scanned, alerts, homes = database.tenants, database.alerts, database.home
    if metrics is not None:  # errors counted where they leave the ports, timeouts included
        store, bounded_engine = (
            counted_store(store, metrics.database_errors),
            counted_engine(bounded_engine, metrics.engine_errors),
        )
        scanned, alerts, homes = (
            counted_store(scanned, metrics.database_errors),
            counted_store(alerts, metrics.database_errors),
            counted_store(homes, metrics.database_errors),  # the Home's own time limit is its reader's
        )
    leases = BoundedLeases(database.leases, settings.read_timeout)
    lease = ProcessLease(leases, ttl=settings.process_lease, clock=utcnow)
    switch = read_only_switch(settings, database.freezes)
    holder = lease.id or f"{socket.gethostname()}:{os.getpid()}"
    tenant_link, shown_run = links.for_tenants(store), shown_runs(store, utcnow)
    chat = notifier(tenant_link, shown_run) if notifier is not None else None  # one notifier: one pace for the channel
    announcer = announcer_for(settings, database, chat, holder) if chat is not None else None
    after_action = announcer.nudge if announcer is not None and not announcer.notifier.dry_run else None
    service = TenantService(
        store, bounded_engine, limits=settings.limits, lease=lease, switch=switch, after_action=after_action
    )
    finder = WedgeFinder(store, bounded_engine, settings.limits)
    authorizer = Authorizer(settings.policy, directory)
    runtime = Runtime(
        settings,
        database,
        engine,
        service,
        finder,
        Presses(service, authorizer),
        history=AuditHistory(store),
        links=links,
        tenant_link=tenant_link,
        shown_run=shown_run,
        retention=build_retention(settings, database.retention, database.leases, f"{holder}:retention"),
        faults=faults,
        approvals=Approvals(
            service,
            authorizer,
            BoundedApprovals(database.approvals, settings.read_timeout),
            ttl=settings.approval_ttl,
            clock=utcnow,
        ),
        batches=BatchRunner(
            database.batches,
            service,
            leases,
            holder=f"{holder}:batches",
            lease=settings.process_lease,
            watch=metrics or UNWATCHED,
        ),
        announcer=announcer,
        home=home_reader(settings, homes, switch, finder, scans=chat is not None and scan),
        turns=turns,
    )
    if chat is None or not scan:
        return runtime
    scanner = Scanner(
        scanned,
        alerts,
        chat,
        finder,
        leases=database.leases,
        holder=holder,
        clock=utcnow,
        lease=scan_lease(settings),
        freezes=database.freezes,  # the alerts show the switch (the scan's own reads are unbounded, as before)
        reset_nudge_after=settings.reset_nudge_after,
        ticks=homes,  # the last tick's time, for the App Home
        auto=auto_recovery(settings, database.batches),
    )
    controls = AlertControls(scanned, alerts, scanner.delivery, authorizer, clock=utcnow)
    offers = BatchOffers(alerts, finder, runtime.batches, authorizer, switch, leases, clock=utcnow)
    return dataclasses.replace(runtime, scanner=scanner, controls=controls, batch_offers=offers)


@asynccontextmanager
async def kept(lease: ProcessLease) -> AsyncIterator[None]:
    """Renew the lease in the background; give it back at the end (a killed process cannot: it runs out)."""
    keeper = asyncio.create_task(lease.keep())
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await lease.release()


@asynccontextmanager
async def runtime(
    settings: Settings,
    *,
    worker: bool = True,
    engine_required: bool = True,
    notifier: NotifierFor | None = None,
    directory: Directory | None = None,
    metrics: Metrics | None = None,
    scan: bool = True,
) -> AsyncIterator[Runtime]:
    """Everything the app needs, torn down in reverse order on exit.

    With `engine_required=False` (read-only commands) an engine that cannot be reached does not stop
    the command: the views say what could not be read instead. Without a `notifier` there is no scanner
    (and no alert controls) and no announcer; with one and `scan=False` (announcements but no alert
    channel) only the announcer; without a `directory` no user group can be read, so an allow-list's group
    entries grant nothing (only `serve` takes presses, with Slack's).
    """
    from core.persistence import open_database
    from tenantbot.engine import engine_runtime, web_ui_url

    database = await open_database(settings.db_url, pool_size=settings.db_pool_size)
    try:
        async with AsyncExitStack() as stack:
            engine: TemporalEngine | UnreachableEngine
            faults = FaultPlan()
            try:
                engine = await stack.enter_async_context(
                    engine_runtime(settings, database.tenants, faults, worker=worker)
                )
            except EngineError as e:
                if engine_required:
                    raise
                engine = UnreachableEngine(f"engine unreachable: {e}")
            links = RunLinks(web_ui_url(settings), settings.temporal_namespace)  # the dev server's UI, once it runs
            built = assemble(
                settings, database, engine, faults, links, notifier, directory or NoDirectory(), metrics, scan=scan
            )
            built = dataclasses.replace(built, engine_ping=engine.ping)
            await stack.enter_async_context(kept(built.service.lease))
            yield built
    finally:
        await database.close()
