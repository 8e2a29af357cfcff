"""Block Kit renderers: core results in, `slack_sdk.models.blocks` out. No decisions are made here:
the buttons are exactly `assessment.allowed`, the texts come from the core.

Slack's limits are enforced where text can grow (a 3,000-character error, long reasons): every text is
cut to its block's limit, and `to_dict()` validates each block before it is sent.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from core.actions import STEPS
from core.decisions import Assessment
from core.domain import Action
from core.durations import format_duration
from core.results import ActionResult, TenantView

ACTION_ID = "tenant_{}"  # tenant_reset, tenant_retry, …
SHARE_ACTION_ID = "tenant_share"
ACTIONS_BLOCK = "tenant_actions:{}"  # carries the tenant id, cross-checked against the button value
DESTRUCTIVE = (Action.RESET, Action.CANCEL, Action.DECOMMISSION)
USAGE = (
    "*Usage:* `/tenant <tenant-id>` shows a tenant's provisioning and the actions allowed now · "
    "`/tenant stuck` lists wedged tenants · `/tenant help` shows this."
)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(moment: datetime | None, now: datetime) -> str:
    """Relative for reading at a glance, absolute in the reader's own time zone for the record."""
    if moment is None:
        return "never"
    local = f"<!date^{int(moment.timestamp())}^{{date_short}} {{time_secs}}|{moment:%Y-%m-%d %H:%M:%S} UTC>"
    return f"{format_duration(now - moment)} ago ({local})"


def tenant_card(view: TenantView, *, runbook_url: str, note: str | None = None) -> list[Block]:
    t, a, now = view.tenant, view.assessment, view.at
    handle = t.handle
    workflow = (
        f"`{handle.workflow_id}`" + (f"\nrun `{handle.run_id}`" if handle and handle.run_id else "") if handle else "—"
    )
    timeout = view.run.heartbeat_timeout if view.run and view.run.heartbeat_timeout else None
    fields = [
        f"*Attempt*\n{t.attempt}",
        f"*Workflow*\n{workflow}",
        f"*Engine status*\n{view.run.status if view.run else '—'}",
        f"*Current step*\n{t.current_step or '—'}",
        f"*Last progress*\n{when(t.last_progress_at, now)}",
        f"*Last heartbeat*\n{when(t.last_heartbeat_at, now)}"
        + (f"\nheartbeat timeout {format_duration(timeout)}" if timeout else ""),
        f"*Allocations*\n{', '.join(f'{x.kind} `{x.resource_id}`' for x in view.allocations) or 'none'}",
    ]
    if t.failed_activity:
        fields.append(f"*Failed activity*\n{t.failed_activity}")
    blocks: list[Block] = [
        HeaderBlock(text=cut(f"{t.id} · {t.state}", 150)),
        SectionBlock(fields=[MarkdownTextObject(text=cut(f, 2000)) for f in fields]),
    ]
    if t.error:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=cut(f"*Error*\n```{t.error}```", 3000))))
    assessment = f"*{a.situation.value.capitalize()}* — {a.reason}\n*Recommended:* {a.recommended}"
    blocks.append(SectionBlock(text=MarkdownTextObject(text=cut(assessment, 3000))))
    if view.problems:
        problems = "; ".join(f"could not read {p}" for p in view.problems)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=cut(f":warning: {problems}", 3000))]))
    if view.events:
        lines = [
            f"• {e.at:%H:%M:%S} `{e.type.removeprefix('tenant.provisioning.')}` by {actor(e.actor)}"
            for e in view.events
        ]
        blocks.append(SectionBlock(text=MarkdownTextObject(text=cut("*Recent events*\n" + "\n".join(lines), 3000))))
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=f"<{runbook_url}|Runbook: reset a stuck provisioning>")])
    )
    blocks.append(ActionsBlock(block_id=cut(ACTIONS_BLOCK.format(t.id), 255), elements=buttons(view)))
    if note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=cut(note, 3000))]))
    return blocks


def buttons(view: TenantView) -> list[ButtonElement]:
    tenant_id, assessment = view.tenant.id, view.assessment
    elements = [
        ButtonElement(
            text=action.value.capitalize(),
            action_id=ACTION_ID.format(action.value),
            value=tenant_id,
            style="primary" if action is assessment.recommended.next_action else None,
            confirm=confirm(action, tenant_id) if action in DESTRUCTIVE else None,
        )
        for action in assessment.allowed
    ]
    return [*elements, ButtonElement(text="Share in channel", action_id=SHARE_ACTION_ID, value=tenant_id)]


def confirm(action: Action, tenant_id: str) -> ConfirmObject:
    return ConfirmObject(
        title=cut(f"{action.value.capitalize()} {tenant_id}?", 100),
        text=cut(STEPS[action].confirm, 300),
        confirm=action.value.capitalize(),
        deny="Keep it",
        style="danger" if action is Action.DECOMMISSION else "primary",
    )


def actor(name: str) -> str:
    """Mention Slack users; show workflows, the scheduler and CLI users as they are."""
    return f"<@{name}>" if name[:1] in ("U", "W") and name.isalnum() else f"`{name}`"


def result_note(result: ActionResult, pressed_at: datetime) -> str:
    return (
        f"{actor(result.actor)} pressed *{result.action.value.capitalize()}* at {pressed_at:%H:%M:%S} UTC: "
        f"{result.outcome.value} — {result.message}"
    )


def stuck_list(wedged: dict[str, Assessment], limit: int = 40) -> list[Block]:
    if not wedged:
        return [SectionBlock(text=MarkdownTextObject(text=":white_check_mark: No wedged tenants right now."))]
    rows = sorted(wedged.items())
    lines: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=cut(f"*{tid}* · {a.situation} — {a.reason}\nRecommended: {a.recommended} · `/tenant {tid}`", 3000)
            )
        )
        for tid, a in rows[:limit]
    ]
    header = HeaderBlock(text=f"{len(rows)} wedged tenant{'s' if len(rows) != 1 else ''}")
    more = (
        [ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(rows) - limit} more")])]
        if len(rows) > limit
        else []
    )
    return [header, *lines, *more]


def text_fallback(view: TenantView) -> str:
    """The notification text that goes with the blocks (Slack requires one)."""
    return cut(f"{view.tenant.id}: {view.tenant.state} — {view.assessment.situation}", 3000)
