"""What the listeners need from the rest of the app, handed in by `create_app` (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.alerting.controls import AlertControls
from core.history import AuditHistory
from core.presses import Presses
from core.run_links import RunLinks, TenantLink
from core.service import TenantService
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
    alert_controls: AlertControls | None = None  # Snooze and the digest menus; None when alerts are off
    # the answers to commands being worked out at once, after their acks (bot/listeners/commands.py)
    command_work: Turns = field(default_factory=Turns)  # the root's, which its bounded engine steps aside from

    @property
    def service(self) -> TenantService:
        """The tenant service the presses run through: views and the card after a press."""
        return self.presses.service
