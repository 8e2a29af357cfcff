"""Alerts printed to the terminal: what `tenantbot scan` and the demo use when no Slack channel is set.

A dry run (`dry_run = True`): the scan prints what it would post, resolve or remind, and records no
message reference, so a replica with Slack still posts every alert and delivers every edit and reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.alerting.model import Alert, Announcement, Digest
from core.alerting.nudges import ResetNudge
from core.batches import Batch


class ConsoleNotifier:
    dry_run = True

    def __init__(self, echo: Callable[[str], None] = print) -> None:
        self.echo = echo

    async def post_alert(self, alert: Alert) -> str:
        suggested = alert.suggested
        self.echo(f"ALERT {alert.tenant_id}: {alert.situation} — {alert.reason}. Suggested: {suggested}")
        return ""

    async def post_digest(self, digest: Digest, members: Sequence[Alert]) -> str:
        still = [a.tenant_id for a in members if a.resolved_at is None]
        self.echo(f"ALERT {len(still)} tenants wedged at once: {', '.join(still)}")
        return ""

    async def update_alert(self, alert: Alert) -> None:
        if alert.resolved_at is not None:
            self.echo(f"ALERT {alert.tenant_id} resolved: {alert.resolution}")
        else:
            self.echo(f"ALERT {alert.tenant_id}: still {alert.situation} after the snooze")

    async def update_digest(self, digest: Digest, members: Sequence[Alert]) -> None:
        return None  # never asked in a dry run

    async def reply(self, message_ref: str, text: str) -> None:
        return None  # never asked in a dry run

    async def announce(self, line: Announcement, thread: str | None) -> str:
        return ""  # never asked in a dry run: a replica with Slack posts it

    async def announce_batch(self, batch: Batch, left_today: int) -> str:
        return ""  # never asked in a dry run: auto-recovery is left to a replica with Slack

    async def remind_reset(self, thread: str | None, resetter: str, nudges: Sequence[ResetNudge]) -> None:
        return None  # never asked in a dry run: nudges are left to a replica with Slack
