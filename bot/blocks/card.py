"""The tenant card: a tenant view in, Block Kit out. No decisions are made here: the buttons are the
actions the caller passes (the assessment's, filtered by core/authz), the texts come from the core.
While tenantbot is frozen (the view carries the read-only switch, core/freeze.py) every action is refused,
so the card shows the freeze's banner and no action button.

Everything from data is escaped (bot/text.py). The card stays under Slack's size budget: it is
rendered with generous room for the long texts first (error, reason, note, allocations, events) and
with less room until it fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, HeaderBlock, SectionBlock

from bot.blocks.common import actor, md, run_button
from bot.blocks.freeze import banner
from bot.seen_values import pack
from bot.text import BUDGET, code, cut, fenced, json_size, listing, safe
from core.domain import Action
from core.durations import format_duration
from core.results import ActionResult, TenantView
from core.seen import Seen

ACTION_ID = "tenant_{}"  # tenant_reset, tenant_retry, …
SHARE_ACTION_ID = "tenant_share"
ACTIONS_BLOCK = "tenant_actions:{}"  # carries the tenant id, cross-checked against the button value
UNREAD = "unknown (could not read)"


@dataclass(frozen=True)
class Room:
    """How many characters the card gives each text that grows with the data."""

    error: int
    reason: int
    field: int
    events: int
    note: int


ROOMS = (Room(2000, 1200, 600, 8, 1200), Room(800, 500, 300, 8, 500), Room(200, 200, 100, 3, 250))


def when(moment: datetime | None, now: datetime) -> str:
    """Relative for reading at a glance, absolute in the reader's own time zone for the record."""
    if moment is None:
        return "never"
    local = f"<!date^{int(moment.timestamp())}^{{date_short}} {{time_secs}}|{moment:%Y-%m-%d %H:%M:%S} UTC>"
    return f"{format_duration(now - moment)} ago ({local})"


def tenant_card(
    view: TenantView,
    *,
    runbook_url: str,
    actions: Sequence[Action],
    note: str | None = None,
    run_url: str | None = None,
) -> list[Block]:
    """The card, with buttons for `actions` (what the viewer may run of what the assessment allows, decided
    by core/authz: no default, so no caller can forget it), within the budget; with `run_url`, a link to
    the run in Temporal's Web UI.

    `note` is mrkdwn the caller already made safe (e.g. `result_note`)."""
    return _fitted(view, runbook_url, actions, note, run_url)[0]


def tenant_card_json(
    view: TenantView,
    *,
    runbook_url: str,
    actions: Sequence[Action],
    note: str | None = None,
    run_url: str | None = None,
) -> list[dict[str, Any]]:
    """`tenant_card` as the JSON posted: the blocks' `to_dict()` (which checks each element's Block Kit limits)
    is run once, to measure the card, and its result sent as it is, instead of run again by `respond()`."""
    return _fitted(view, runbook_url, actions, note, run_url)[1]


def _fitted(
    view: TenantView, runbook_url: str, actions: Sequence[Action], note: str | None, run_url: str | None
) -> tuple[list[Block], list[dict[str, Any]]]:
    """The card with the most room that fits the budget, and its JSON."""
    offered = tuple(actions) if view.frozen is None else ()  # while frozen every action is refused
    for room in ROOMS:
        card = _card(view, runbook_url, note, offered, room, run_url)
        shown = [block.to_dict() for block in card]
        if json_size(shown) <= BUDGET:
            break
    return card, shown


def _card(
    view: TenantView, runbook_url: str, note: str | None, offered: tuple[Action, ...], room: Room, run_url: str | None
) -> list[Block]:
    t, a = view.tenant, view.assessment
    blocks: list[Block] = [
        HeaderBlock(text=cut(f"{t.id} · {t.state}", 150)),
        *([banner(view.frozen)] if view.frozen else []),
        SectionBlock(fields=[md(cut(f, 2000)) for f in _fields(view, room)]),
    ]
    if t.error:
        blocks.append(SectionBlock(text=md("*Error*\n" + fenced(t.error, room.error))))
    assessment = (
        f"*{a.situation.value.capitalize()}* — {safe(a.reason, room.reason)}\n*Recommended:* {safe(a.advice, 400)}"
    )
    blocks.append(SectionBlock(text=md(assessment)))
    if view.problems:
        problems = "; ".join(f"could not read {safe(p, room.field)}" for p in view.problems)
        blocks.append(ContextBlock(elements=[md(cut(f":warning: {problems}", 2000))]))
    if view.events and room.events:
        lines = [
            f"• {e.at:%H:%M:%S} {code(e.type.removeprefix('tenant.provisioning.'), 60)} by {actor(e.actor)}"
            for e in view.events[: room.events]
        ]
        title = f"*Recent events* (all: {code(f'/tenant {t.id} history', 90)})\n"
        blocks.append(SectionBlock(text=md(cut(title + "\n".join(lines), 3000))))
    runbook = f"<{runbook_url}|Runbook: reset a stuck provisioning>" if len(runbook_url) <= 1000 else "Runbook"
    blocks.append(ContextBlock(elements=[md(runbook)]))
    elements = [*buttons(view, offered), *run_button(run_url)]
    blocks.append(ActionsBlock(block_id=cut(ACTIONS_BLOCK.format(t.id), 255), elements=elements))
    if note:
        blocks.append(ContextBlock(elements=[md(cut(note, min(room.note, 2000)))]))
    return blocks


def _fields(view: TenantView, room: Room) -> list[str]:
    t, now, handle = view.tenant, view.at, view.tenant.handle
    workflow = "—"
    if handle:
        workflow = code(handle.workflow_id, 120) + (f"\nrun {code(handle.run_id, 60)}" if handle.run_id else "")
    timeout = view.run.heartbeat_timeout if view.run and view.run.heartbeat_timeout else None
    allocations = UNREAD if _unread(view, "allocations") else _allocations(view, room.field)
    fields = [
        f"*Attempt*\n{t.attempt}",
        f"*Workflow*\n{workflow}",
        f"*Engine status*\n{view.run.status if view.run else '—'}",
        f"*Current step*\n{safe(t.current_step, room.field) if t.current_step else '—'}",
        f"*Last progress*\n{when(t.last_progress_at, now)}",
        f"*Last heartbeat*\n{when(t.last_heartbeat_at, now)}"
        + (f"\nheartbeat timeout {format_duration(timeout)}" if timeout else ""),
        f"*Allocations*\n{allocations}",
    ]
    if t.failed_activity:
        fields.append(f"*Failed activity*\n{safe(t.failed_activity, room.field)}")
    return fields


def _unread(view: TenantView, part: str) -> bool:
    """True when the service could not read `part` (it names it in `problems`; allocations may be None)."""
    return getattr(view, part, ()) is None or any(p.startswith(f"{part}:") for p in view.problems)


def _allocations(view: TenantView, limit: int) -> str:
    items = [f"{safe(x.kind, 40)} {code(x.resource_id, 120)}" for x in view.allocations or ()]
    return listing(items, limit) or "none"


def buttons(view: TenantView, offered: Sequence[Action]) -> list[ButtonElement]:
    """The action buttons, each carrying what this card shows (bot/seen_values.py), so a press acts only on
    the run the reader saw; Reset, Cancel and Decommission open their preview (bot/blocks/preview.py)."""
    tenant_id, assessment = view.tenant.id, view.assessment
    shown = pack(Seen.of(view.tenant, assessment.situation, view.at))
    elements = [
        ButtonElement(
            text=action.value.capitalize(),
            action_id=ACTION_ID.format(action.value),
            value=shown,
            style="primary" if action is assessment.recommended.next_action else None,
        )
        for action in offered
    ]
    return [*elements, ButtonElement(text="Share in channel", action_id=SHARE_ACTION_ID, value=tenant_id)]


def result_note(result: ActionResult, pressed_at: datetime, limit: int = 1200) -> str:
    """Who pressed what and what came of it; an out-of-date card names who did what since (mentions)."""
    message = result.stale.text(actor) if result.stale is not None else safe(result.message, limit)
    return (
        f"{actor(result.actor)} pressed *{result.action.value.capitalize()}* at {pressed_at:%H:%M:%S} UTC: "
        f"{result.outcome.value} — {message}"
    )


def text_fallback(view: TenantView) -> str:
    """The notification text that goes with the blocks (Slack requires one)."""
    return safe(f"{view.tenant.id}: {view.tenant.state} — {view.assessment.situation}", 3000)
