"""Block Kit for one alert of the alert channel (a stuck episode), and the answers to its controls.

While tenantbot is frozen (the alert carries the read-only switch, core/freeze.py) the alert shows the
freeze's banner and no Reset; Take it, Details, Open in Temporal and Snooze (none is an action on a
tenant) stay. Who took the alert is shown under it."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks.common import actor, confirm, run_button
from bot.blocks.freeze import banner
from bot.text import safe
from core.alerting.controls import SnoozeOutcome, SnoozeResult, TakeOutcome, TakeResult
from core.alerting.model import Alert
from core.decisions import Situation, recommended_for
from core.domain import Action

ALERT_BLOCK = "alert:{}:{}"  # alert id, tenant id
SNOOZE_CHOICES = (("30 minutes", 1800), ("1 hour", 3600), ("4 hours", 14400), ("1 day", 86400))


def alert_text(alert: Alert) -> str:
    return safe(f"{alert.tenant_id} is {alert.situation}", 3000)


def alert_blocks(alert: Alert, run_url: str | None = None) -> list[Block]:
    """The alert as the channel sees it; with `run_url`, a link to the tenant's run in Temporal's Web UI."""
    if alert.resolved_at is not None:
        return [
            SectionBlock(
                text=MarkdownTextObject(
                    text=(
                        f":white_check_mark: *{safe(alert.tenant_id, 100)}* was {alert.situation} — "
                        f"resolved at {alert.resolved_at:%H:%M} UTC: {safe(alert.resolution or '', 2500)}"
                    )
                )
            )
        ]
    body = (
        f":rotating_light: *{safe(alert.tenant_id, 100)}* is *{alert.situation}*\n"
        f"{safe(alert.reason, 2500)}\n*Suggested:* {recommended_for(alert.situation)} — Reset terminates the stuck run "
        "and keeps allocations; nothing is rolled back."
    )
    if alert.situation is Situation.ACTION_RUNNING:  # an action on it is unfinished: the alert waits for it
        body = f":hourglass_flowing_sand: *{safe(alert.tenant_id, 100)}*: {safe(alert.reason, 2500)}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=body))]
    if alert.frozen is not None:
        blocks.append(banner(alert.frozen))
    if alert.owner is not None:
        taken = f" at {alert.owned_at:%H:%M} UTC" if alert.owned_at else ""
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f":raising_hand: taken by {actor(alert.owner)}{taken}")])
        )
    if alert.snoozed_until is not None:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f":zzz: snoozed by {actor(alert.snoozed_by or '?')} until {alert.snoozed_until:%H:%M} UTC"
                    )
                ]
            )
        )
    blocks.append(
        ActionsBlock(
            block_id=ALERT_BLOCK.format(alert.id, alert.tenant_id),
            elements=[
                *_reset(alert),
                ButtonElement(text="Take it", action_id="alert_take", value=alert.tenant_id),
                ButtonElement(text="Details", action_id="alert_details", value=alert.tenant_id),
                *run_button(run_url),
                StaticSelectElement(
                    placeholder="Snooze…",
                    action_id="alert_snooze",
                    options=[Option(text=label, value=str(seconds)) for label, seconds in SNOOZE_CHOICES],
                ),
            ],
        )
    )
    return blocks


def _reset(alert: Alert) -> list[ButtonElement]:
    """The Reset button, unless tenantbot is frozen (every action is refused then)."""
    if alert.frozen is not None:
        return []
    confirmation = confirm(Action.RESET, alert.tenant_id)
    return [
        ButtonElement(
            text="Reset", action_id="alert_reset", value=alert.tenant_id, style="primary", confirm=confirmation
        )
    ]


def snooze_answer(result: SnoozeResult, tenant_id: str, until: datetime) -> str:
    """What the snoozer reads: the truth about the alert, whatever happened to it first."""
    alert = result.alert
    match result.outcome:
        case SnoozeOutcome.SNOOZED:
            return f":zzz: Alert for {tenant_id} snoozed until {until:%H:%M} UTC."
        case SnoozeOutcome.ALREADY_RESOLVED:
            resolved = f" at {alert.resolved_at:%H:%M} UTC ({alert.resolution})" if alert and alert.resolved_at else ""
            return f":white_check_mark: The alert for {tenant_id} was already resolved{resolved}; nothing to snooze."
        case SnoozeOutcome.REFUSED:
            return f":no_entry: {safe(result.reason or 'not allowed', 500)}"
        case _:
            return f":warning: That alert is not {tenant_id}'s; run `/tenant {tenant_id}` instead."


def take_answer(result: TakeResult, tenant_id: str) -> str:
    """What the taker reads: theirs now, taken over from whom, or why not."""
    alert, tenant = result.alert, safe(tenant_id, 100)
    owner = actor(alert.owner) if alert is not None and alert.owner else "someone else"
    match result.outcome:
        case TakeOutcome.TAKEN:
            return f":raising_hand: The alert for {tenant} is yours now."
        case TakeOutcome.TAKEN_OVER:
            return (
                f":raising_hand: You took over the alert for {tenant} from {actor(result.previous or '?')}; "
                "it is yours now (recorded in its audit feed)."
            )
        case TakeOutcome.ALREADY_YOURS:
            return f"The alert for {tenant} is already yours."
        case TakeOutcome.CONTESTED:
            return f"The alert for {tenant} keeps changing hands; it is {owner}'s now. Press again to take it."
        case TakeOutcome.ALREADY_RESOLVED:
            return f":white_check_mark: The alert for {tenant} was already resolved; nothing to take."
        case TakeOutcome.REFUSED:
            return f":no_entry: {safe(result.reason or 'not allowed', 500)}"
        case _:
            return f":warning: That alert is not {tenant}'s; run `/tenant {tenant}` instead."
