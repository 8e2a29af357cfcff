"""What every renderer shares: mrkdwn text, how an actor is shown, and the link button to a run in
Temporal's Web UI. (Destructive buttons open a preview modal, bot/blocks/preview.py, instead of a fixed
confirmation dialog.)"""

from __future__ import annotations

import re

from slack_sdk.models.blocks import ButtonElement, MarkdownTextObject

from bot.text import code, safe
from core.causes import Group, Markup, summary

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


def run_button(url: str | None) -> list[ButtonElement]:
    """ "Open in Temporal" for the run at `url` (core/run_links.py), or nothing without one."""
    if url is None or len(url) > MAX_URL:
        return []
    return [ButtonElement(text="Open in Temporal", action_id=OPEN_RUN, url=url)]
