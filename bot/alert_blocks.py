"""Block Kit for the alert channel: one alert per stuck episode, or one digest for a mass wedge."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks import actor, confirm, cut
from core.alerts import Alert
from core.decisions import Situation
from core.domain import Action

ALERT_BLOCK = "alert:{}:{}"  # alert id, tenant id
SNOOZE_CHOICES = (("30 minutes", 1800), ("1 hour", 3600), ("4 hours", 14400), ("1 day", 86400))
DIGEST_LISTED = 100  # Slack's limit of options in one select


def situation_label(key: str) -> str:
    return next((str(s) for s in Situation if s.key == key), key)


def alert_text(alert: Alert) -> str:
    return cut(f"{alert.tenant_id} is {situation_label(alert.situation)}", 3000)


def alert_blocks(alert: Alert) -> list[Block]:
    if alert.resolved_at is not None:
        return [
            SectionBlock(
                text=MarkdownTextObject(
                    text=cut(
                        f":white_check_mark: *{alert.tenant_id}* was {situation_label(alert.situation)} — "
                        f"resolved at {alert.resolved_at:%H:%M} UTC: {alert.resolution}",
                        3000,
                    )
                )
            )
        ]
    body = (
        f":rotating_light: *{alert.tenant_id}* is *{situation_label(alert.situation)}*\n{alert.reason}\n"
        "*Suggested:* Reset, then Retry — Reset terminates the stuck run and keeps allocations; nothing is rolled back."
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=cut(body, 3000)))]
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
                ButtonElement(
                    text="Reset",
                    action_id="alert_reset",
                    value=alert.tenant_id,
                    style="primary",
                    confirm=confirm(Action.RESET, alert.tenant_id),
                ),
                ButtonElement(text="Details", action_id="alert_details", value=alert.tenant_id),
                StaticSelectElement(
                    placeholder="Snooze…",
                    action_id="alert_snooze",
                    options=[Option(text=label, value=str(seconds)) for label, seconds in SNOOZE_CHOICES],
                ),
            ],
        )
    )
    return blocks


def digest_text(alerts: Sequence[Alert]) -> str:
    return f"{len(alerts)} tenants wedged at once"


def digest_blocks(alerts: Sequence[Alert]) -> list[Block]:
    counts = Counter(situation_label(a.situation) for a in alerts)
    summary = ", ".join(f"{n} {label}" for label, n in counts.most_common())
    ids = ", ".join(a.tenant_id for a in sorted(alerts, key=lambda a: a.tenant_id))
    blocks: list[Block] = [
        HeaderBlock(text=cut(f":rotating_light: {len(alerts)} tenants wedged at once", 150)),
        SectionBlock(
            text=MarkdownTextObject(
                text=cut(
                    f"{summary}. Likely one cause (a cluster reset?). Suggested for each: Reset, then Retry.", 3000
                )
            )
        ),
        SectionBlock(text=MarkdownTextObject(text=cut(f"*Tenants:* {ids}", 3000))),
        ActionsBlock(
            block_id="alert_digest",
            elements=[
                StaticSelectElement(
                    placeholder="Details for…",
                    action_id="alert_pick",
                    options=[Option(text=cut(a.tenant_id, 75), value=a.tenant_id) for a in alerts[:DIGEST_LISTED]],
                )
            ],
        ),
    ]
    if len(alerts) > DIGEST_LISTED:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"{len(alerts) - DIGEST_LISTED} more not in the menu: `/tenant <id>` shows any of them."
                    )
                ]
            )
        )
    return blocks
