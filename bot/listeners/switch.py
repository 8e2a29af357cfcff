"""The read-only switch in the slash command: `/tenant freeze <reason>`, `/tenant unfreeze`, and the
switch's state in `/tenant help`.

Translation only: the core decides who may flip it (the admin allow-list, core/presses.py) and records
it (core/freeze.py); bot/blocks/freeze.py words the answers. The reason is the command's text after the
word `freeze`, as typed (case kept).
"""

from __future__ import annotations

from typing import Any

from bot.blocks.freeze import USAGE as SWITCH_USAGE
from bot.blocks.freeze import help_line, switch_answer, unreadable_line
from bot.deps import BotDeps
from bot.replies import USAGE
from core.ports import StoreError


async def freeze(deps: BotDeps, user: str, text: str) -> dict[str, Any]:
    """`text` is the whole command text, `freeze <reason>`."""
    reason = text.split(None, 1)[1:]
    return switch_answer(await deps.presses.freeze(user, " ".join(reason)), user)


async def unfreeze(deps: BotDeps, user: str) -> dict[str, Any]:
    return switch_answer(await deps.presses.unfreeze(user), user)


async def help_answer(deps: BotDeps) -> dict[str, Any]:
    """The usage, then whether tenantbot is frozen right now (read within READ_TIMEOUT)."""
    try:
        state = help_line(await deps.service.switch.state())
    except StoreError as e:
        state = unreadable_line(str(e))
    return {"text": f"{USAGE}\n{SWITCH_USAGE}\n{state}", "response_type": "ephemeral"}
