"""The answer to a press or a submitted preview: the card in place with who did what, or the presser alone.

A refusal on a card shared in the channel, and a press whose tenant could not be read again, are answered
to the presser only and leave the card as it is, so one person's refused press never rewrites everyone's
message; a press on an out-of-date card gets the presser the fresh card. A redelivery that found its
request already handled is not answered again (the first delivery was).
"""

from __future__ import annotations

from typing import Any

from bot.blocks import card
from bot.deps import BotDeps
from bot.payload import on_private_message
from bot.replies import EPHEMERAL, unrefreshed
from core.results import ActionResult, Outcome


async def answer_press(deps: BotDeps, body: dict[str, Any], result: ActionResult) -> dict[str, Any] | None:
    if result.outcome is Outcome.DUPLICATE:
        return None  # the first delivery already answered; don't overwrite its card
    note = card.result_note(result, deps.clock())
    shared = not on_private_message(body)
    if result.view is None:
        return {"text": unrefreshed(note), **EPHEMERAL}
    if result.stale is not None and shared:  # the fresh card, for the presser alone
        return {**await rendered(deps, result, str(body["user"]["id"])), **EPHEMERAL}
    if result.outcome is Outcome.REFUSED and shared:
        return {"text": note, **EPHEMERAL}
    viewer = None if shared else str(body["user"]["id"])
    return {"replace_original": True, **await rendered(deps, result, viewer)}


async def rendered(deps: BotDeps, result: ActionResult, viewer: str | None) -> dict[str, Any]:
    """The text and card after a press, with the buttons for `viewer` (None: a card others may see)."""
    note = card.result_note(result, deps.clock())
    if result.view is None:
        return {"text": unrefreshed(note)}
    offered = await deps.presses.offered(result.view.assessment.allowed, viewer)
    run_url = deps.links.to(result.view.tenant.handle)
    shown = card.tenant_card(result.view, runbook_url=deps.runbook_url, note=note, actions=offered, run_url=run_url)
    return {"text": note, "blocks": shown}


async def answer_alert_press(deps: BotDeps, body: dict[str, Any], result: ActionResult) -> dict[str, Any] | None:
    """An alert's Reset is answered to the presser alone (the alert stays the channel's shared record; the
    scan edits it when the tenant moves), with the tenant's card."""
    if result.outcome is Outcome.DUPLICATE:
        return None  # the first delivery already answered
    return {**await rendered(deps, result, str(body["user"]["id"])), **EPHEMERAL}


async def answer_for(source: str, deps: BotDeps, body: dict[str, Any], result: ActionResult) -> dict[str, Any] | None:
    """The answer to a press on a card or on an alert (bot/seen_values.SOURCES)."""
    if source == "alert":
        return await answer_alert_press(deps, body, result)
    return await answer_press(deps, body, result)
