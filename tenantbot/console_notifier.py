"""Alerts printed to the terminal: what `tenantbot scan` and the demo use when no Slack channel is set."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from bot.alert_blocks import situation_label
from core.alerts import Alert


class ConsoleNotifier:
    def __init__(self, echo: Callable[[str], None] = print) -> None:
        self.echo = echo
        self._ids = itertools.count(1)

    async def post_alert(self, alert: Alert) -> str:
        label = situation_label(alert.situation)
        self.echo(f"ALERT {alert.tenant_id}: {label} — {alert.reason}. Suggested: Reset, then Retry")
        return f"console/{next(self._ids)}"

    async def post_digest(self, alerts: Sequence[Alert]) -> str:
        self.echo(f"ALERT {len(alerts)} tenants wedged at once: {', '.join(a.tenant_id for a in alerts)}")
        return f"console/{next(self._ids)}"

    async def update_alert(self, alert: Alert) -> None:
        state = f"resolved: {alert.resolution}" if alert.resolved_at else situation_label(alert.situation)
        self.echo(f"ALERT {alert.tenant_id} updated: {state}")

    async def reply(self, alert: Alert, text: str) -> None:
        self.echo(f"ALERT {alert.tenant_id}: {text}")
