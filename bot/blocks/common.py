"""What every renderer shares: mrkdwn text, how an actor is shown, and the confirmation dialog of a
destructive button (its words are core/actions.py's, so the card and an alert ask alike)."""

from __future__ import annotations

import re

from slack_sdk.models.blocks import ConfirmObject, MarkdownTextObject

from bot.text import code, cut
from core.actions import STEPS
from core.domain import Action

SLACK_USER = re.compile(r"^[UW][A-Z0-9]+$")


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def actor(name: str) -> str:
    """Mention Slack users; show workflows, the scheduler and CLI users as code."""
    return f"<@{name}>" if SLACK_USER.fullmatch(name) else code(name, 80)


def confirm(action: Action, tenant_id: str) -> ConfirmObject:
    return ConfirmObject(
        title=cut(f"{action.value.capitalize()} {tenant_id}?", 100),
        text=cut(STEPS[action].confirm, 300),
        confirm=action.value.capitalize(),
        deny="Keep it",
        style="danger" if action is Action.DECOMMISSION else "primary",
    )
