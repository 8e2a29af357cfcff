"""Listener registration, one module per Slack surface (the bolt starter template's layout)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.deps import BotDeps


def register_listeners(app: AsyncApp, deps: BotDeps) -> None:
    from bot.listeners import actions, alerts, approvals, batches, commands, history, home, previews

    commands.register(app, deps)
    actions.register(app, deps)
    alerts.register(app, deps)
    history.register(app, deps)
    previews.register(app, deps)
    approvals.register(app, deps)
    home.register(app, deps)
    batches.register(app, deps)
