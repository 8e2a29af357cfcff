"""What every renderer shares: mrkdwn text, how an actor is shown, the confirmation dialog of a
destructive button (its words are core/actions.py's, so the card and an alert ask alike), and the link
button to a run in Temporal's Web UI."""

from __future__ import annotations

import re

from slack_sdk.models.blocks import ButtonElement, ConfirmObject, MarkdownTextObject

from bot.text import code, cut, safe
from core.actions import STEPS
from core.causes import Group, Markup, summary
from core.domain import Action

SLACK_USER = re.compile(r"^[UW][A-Z0-9]+$")
OPEN_RUN = "open_in_temporal"  # a link button: Slack still sends the press, which is only acked
MAX_URL = 3000  # Slack's limit on a button's url


SLACK_MARKUP = Markup(step=lambda s: code(s, 80), text=lambda s: safe(s, 200))  # data escaped, the step as code


def causes(groups: list[Group]) -> str:
    """ "*By cause:* 470 orphaned at `create_storage`; 25 wedged at …; 5 other" (core/causes.py)."""
    return f"*By cause:* {summary(groups, SLACK_MARKUP)}"


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


def run_button(url: str | None) -> list[ButtonElement]:
    """ "Open in Temporal" for the run at `url` (core/run_links.py), or nothing without one."""
    if url is None or len(url) > MAX_URL:
        return []
    return [ButtonElement(text="Open in Temporal", action_id=OPEN_RUN, url=url)]
