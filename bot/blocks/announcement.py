"""The one-line announcements of the channel (core/alerting/announcements.py): who ran which action on
which tenant, with the reason it carried, and the mention of an alert nobody took.

Everything taken from data (actor, tenant, reason) is escaped; the only mentions are those the bot means:
a Slack user who acted (`<@U…>`) or on whose behalf a CLI user acted (`--actor U…`), and the configured
`ALERT_MENTION` (`<@U…>`, or `<!subteam^S…>` for a user group)."""

from __future__ import annotations

import re

from bot.blocks.common import SLACK_MARKUP, actor
from bot.text import code, safe
from core.alerting.model import Announcement
from core.batches import Batch
from core.causes import Cause, label

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
    behalf = f" for {actor(line.on_behalf_of)}" if line.on_behalf_of else ""
    at = f"{line.at:%H:%M:%S} UTC"
    return f":arrow_forward: {actor(line.actor)}{behalf} ran *{safe(action, 20)}* on {tenant} at {at}{said}"


def auto_batch_text(batch: Batch, left_today: int) -> str:
    """ "Auto-recovery started batch 7: Reset and Retry of 12 tenants orphaned at `create_storage` …" """
    cause = label(Cause(batch.situation, batch.step, batch.error), SLACK_MARKUP)
    canary = (
        f" (canary: the first {batch.canary}, the rest once their retries got past the step)"
        if 0 < batch.canary < batch.total
        else ""
    )
    return (
        f":robot_face: Auto-recovery (`AUTO_RECOVER`) started *batch {batch.id}*: Reset and Retry of "
        f"{batch.total} tenant(s) {cause}{canary}, {batch.rate:g} tenants/s; {left_today} more may be taken "
        f"automatically within 24 hours. Stop it here or with `tenantbot batch stop {batch.id}`; "
        f"follow it with `tenantbot batch status {batch.id}`."
    )
