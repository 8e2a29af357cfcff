"""What the listeners need from the rest of the app, handed in by `create_app` (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.batch_runs import BatchRuns
from bot.metrics import Metrics
from bot.response_urls import ResponseUrls
from core.alerting.batch_offers import BatchOffers
from core.alerting.controls import AlertControls
from core.approvals import Approvals
from core.history import AuditHistory
from core.home import HomeReader
from core.presses import Presses
from core.run_links import RunLinks, TenantLink
from core.seen import ShownRun
from core.service import TenantService
from core.submissions import Submissions
from core.turns import Turns
from core.wedged import WedgeFinder


@dataclass(frozen=True)
class BotDeps:
    presses: Presses  # a press, authorized and audited, and the buttons each viewer is offered
    runbook_url: str
    clock: Callable[[], datetime]
    finder: WedgeFinder
    read_timeout: timedelta  # the bound on one read, which also bounds the wedged list the listeners read
    history: AuditHistory  # tenants' audit feeds, a page at a time, read within the same bound
    links: RunLinks  # "Open in Temporal" on cards, if the UI is known
    tenant_link: TenantLink  # the same link for a message that knows only the tenant (an alert)
    approvals: Approvals  # two-person Decommission: requests, approvals, denials
    alert_controls: AlertControls | None = None  # Snooze and the digest menus; None when alerts are off
    shown_run: ShownRun | None = None  # the run a digest member's alert shows as it is drawn (none: no Reset)
    metrics: Metrics = field(default_factory=Metrics)  # the app's own registry (bot/metrics.py), served on /metrics
    approval_channel: str | None = None  # where a request goes when it cannot be posted where it came from
    home: HomeReader | None = None  # what the App Home shows each person; None: the Home tab is left as it is
    # the answers to commands being worked out at once, after their acks (bot/listeners/commands.py)
    command_work: Turns = field(default_factory=Turns)  # the root's, which its bounded engine steps aside from
    batch_offers: BatchOffers | None = None  # a digest's "Reset all N": previews, starts, stops; None: alerts off
    batch_runs: BatchRuns | None = None  # batches started from Slack, run here at once with their progress message
    # the app's one HTTP session for answers through a response_url, also those a listener makes itself
    response_urls: ResponseUrls = field(default_factory=ResponseUrls)

    @property
    def submissions(self) -> Submissions:
        """A preview's submission: run now, or a request a second person approves (core/submissions.py)."""
        return Submissions(self.presses, self.approvals)

    @property
    def service(self) -> TenantService:
        """The tenant service the presses run through: views and the card after a press."""
        return self.presses.service
