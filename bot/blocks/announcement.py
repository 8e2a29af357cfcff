"""The one-line announcements of the channel (core/alerting/announcements.py): who ran which action on
which tenant, with the reason it carried, and the mention of an alert nobody took.

Everything taken from data (actor, tenant, reason) is escaped; the only mentions are those the bot means:
a Slack user who acted (`<@U…>`) and the configured `ALERT_MENTION` (`<@U…>`, or `<!subteam^S…>` for a
user group)."""

from __future__ import annotations

import re

from bot.blocks.common import actor
from bot.text import code, safe
from core.alerting.model import Announcement

USER_GROUP = re.compile(r"^S[A-Z0-9]+$")
REASON_CHARS = 500


def mention(whom: str) -> str:
    """A user (`U…`, `W…`) or a user group (`S…`) as Slack pings them."""
    return f"<!subteam^{whom}>" if USER_GROUP.fullmatch(whom) else f"<@{whom}>"


def announcement_text(line: Announcement) -> str:
    tenant = code(line.tenant_id, 80)
    if line.mention:
        return (
            f":bell: {mention(line.actor)} nobody has taken the alert for {tenant} yet: "
            "press *Take it* on the alert if it is yours."
        )
    action = (line.action or "?").capitalize()
    said = f" — reason: {safe(line.reason, REASON_CHARS)}" if line.reason else ""
    return f":arrow_forward: {actor(line.actor)} ran *{safe(action, 20)}* on {tenant} at {line.at:%H:%M:%S} UTC{said}"
