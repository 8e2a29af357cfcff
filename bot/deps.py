"""What the listeners need from the rest of the app, handed in by `create_app` (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.authz import GroupDirectory
from core.alerting.controls import AlertControls
from core.authz import Policy
from core.history import AuditHistory
from core.run_links import RunLinks, TenantLink
from core.service import TenantService
from core.wedged import WedgeFinder


@dataclass(frozen=True)
class BotDeps:
    service: TenantService
    policy: Policy
    runbook_url: str
    clock: Callable[[], datetime]
    finder: WedgeFinder
    alert_controls: AlertControls | None = None  # Snooze and the digest menus; None when alerts are off
    directory: GroupDirectory = field(default_factory=GroupDirectory)  # one cache for cards and presses
    links: RunLinks = field(default_factory=RunLinks)  # "Open in Temporal" on cards and alerts, if the UI is known

    @property
    def read_timeout(self) -> timedelta:
        """The service's bound on one read, which also bounds what the listeners read outside it."""
        return self.service.timeouts.read

    @property
    def history(self) -> AuditHistory:
        """Tenants' audit feeds, a page at a time, read from the service's store under the same bound."""
        return AuditHistory(self.service.store, self.read_timeout)

    @property
    def tenant_link(self) -> TenantLink:
        """The link to a tenant's current run, for a message that knows only the tenant (an alert)."""
        return self.links.for_tenants(self.service.store, self.read_timeout)
