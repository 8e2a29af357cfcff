"""The read-only switch in Slack (core/freeze.py): the banner on cards and alerts while tenantbot is frozen,
the answers to `/tenant freeze <reason>` and `/tenant unfreeze`, and the switch's line in `/tenant help`.

Freezing and unfreezing are announced in the channel (`in_channel`): everyone working the incident
there must know that buttons are refused and why. What changes nothing (a refusal, already frozen, not
frozen) is answered to the sender only. The reason is data: escaped and cut like every text from data.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import SectionBlock

from bot.blocks.common import actor, md
from bot.replies import EPHEMERAL
from bot.text import safe
from core.freeze import Freeze, SwitchOutcome, SwitchResult

USAGE = (
    "*Read-only switch* (admins only): `/tenant freeze <reason>` refuses every action, from every button, "
    "alert and the command line, until `/tenant unfreeze`."
)
REFUSED_WHILE_FROZEN = "Every action is refused until it is unfrozen (`/tenant unfreeze` or `tenantbot unfreeze`)."
IN_CHANNEL = {"response_type": "in_channel", "replace_original": False}


def since(freeze: Freeze) -> str:
    """When it was frozen, in the reader's time zone (UTC in the fallback)."""
    fallback = f"{freeze.at:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(freeze.at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def frozen_line(freeze: Freeze) -> str:
    return (
        f":ice_cube: *tenantbot is frozen (read-only)* by {actor(freeze.by)} since {since(freeze)}: "
        f"{safe(freeze.reason, 600)}"
    )


def banner(freeze: Freeze) -> SectionBlock:
    """What a card or an alert shows while frozen, instead of its action buttons."""
    return SectionBlock(text=md(f"{frozen_line(freeze)}\n{REFUSED_WHILE_FROZEN}"))


def help_line(freeze: Freeze | None) -> str:
    """The switch's state for `/tenant help`."""
    if freeze is None:
        return ":large_green_circle: tenantbot is not frozen: actions run."
    return f"{frozen_line(freeze)}\n{REFUSED_WHILE_FROZEN}"


def unreadable_line(problem: str) -> str:
    return (
        f":warning: Could not read the read-only switch ({safe(problem, 300)}); "
        "every action is refused until it can be read."
    )


def switch_answer(result: SwitchResult, user: str) -> dict[str, Any]:
    """The answer to `/tenant freeze` or `/tenant unfreeze`: announced in the channel when it flipped."""
    freeze = result.freeze
    match result.outcome:
        case SwitchOutcome.FROZEN if freeze is not None:
            text = (
                f":ice_cube: {actor(user)} froze tenantbot (read-only): {safe(freeze.reason, 600)}\n"
                f"{REFUSED_WHILE_FROZEN} Reading, the wedge alerts and Snooze go on."
            )
            return {"text": text, **IN_CHANNEL}
        case SwitchOutcome.UNFROZEN if freeze is not None:
            was = f"frozen by {actor(freeze.by)} since {since(freeze)}: {safe(freeze.reason, 600)}"
            return {
                "text": f":white_check_mark: {actor(user)} unfroze tenantbot: actions run again (it was {was}).",
                **IN_CHANNEL,
            }
        case SwitchOutcome.ALREADY_FROZEN if freeze is not None:
            return {"text": f"{frozen_line(freeze)}\nIt was already frozen, so nothing changed.", **EPHEMERAL}
        case SwitchOutcome.NOT_FROZEN:
            return {"text": "tenantbot is not frozen; nothing changed.", **EPHEMERAL}
        case _:
            return {"text": f":no_entry: {safe(result.reason or 'not allowed', 500)}", **EPHEMERAL}
