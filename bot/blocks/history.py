"""Block Kit for a page of a tenant's audit history, newest first, with Newer and Older buttons.

Each event shows when (absolute, in the reader's own time zone), what, who, and its details (reason,
cause, request key, run, …), all escaped. A page stays within one message: the details get less room
until the page fits the budget (at the smallest room a full page of the longest events fits). The
buttons carry the tenant and the page's edge (a cursor, core/history.py) in their value, and sit in a
block named for the tenant, so the listener can refuse a button that was altered.
"""

from __future__ import annotations

import json
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, HeaderBlock, SectionBlock

from bot.blocks.common import actor, md
from bot.text import BUDGET, code, cut, safe, size
from core.domain import AuditEvent, FeedPosition
from core.events import PREFIX
from core.history import HistoryPage, cursor

HISTORY_BLOCK = "history:{}"  # tenant id, cross-checked against the buttons' values
OLDER, NEWER = "history_older", "history_newer"
DETAIL_ROOMS = (600, 250, 80)  # characters of one event's details, tried until the page fits
SECTION_CHARS = 2900  # under Slack's 3,000 per section text


def history_text(page: HistoryPage) -> str:
    """The notification text that goes with the blocks."""
    return safe(f"History of {page.tenant_id}: {len(page.events)} events", 3000)


def history_blocks(page: HistoryPage) -> list[Block]:
    for room in DETAIL_ROOMS:
        blocks = _page(page, room)
        if size(blocks) <= BUDGET:
            break
    return blocks


def _page(page: HistoryPage, room: int) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text=cut(f"History of {page.tenant_id}", 150))]
    if not page.events:
        said = "No events recorded." if page.newest else "No older events."
        return [*blocks, SectionBlock(text=md(said))]
    where = "newest first" if page.newest else "newest first · an older page"
    blocks.append(ContextBlock(elements=[md(f"{len(page.events)} events, {where}")]))
    section = ""
    for line in (event_line(e, room) for e in page.events):
        if section and len(section) + 1 + len(line) > SECTION_CHARS:
            blocks.append(SectionBlock(text=md(section)))
            section = ""
        section = f"{section}\n{line}" if section else line
    blocks.append(SectionBlock(text=md(section)))
    buttons = [
        _button("Newer", NEWER, page.tenant_id, page.newer),
        _button("Older", OLDER, page.tenant_id, page.older),
    ]
    shown = [b for b in buttons if b is not None]
    if shown:
        blocks.append(ActionsBlock(block_id=cut(HISTORY_BLOCK.format(page.tenant_id), 255), elements=shown))
    return blocks


def event_line(event: AuditEvent, room: int) -> str:
    what = code(event.type.removeprefix(PREFIX), 60)
    line = f"• {stamp(event.at)} {what} by {actor(event.actor)}"
    details = ", ".join(f"{k}: {_shown(v)}" for k, v in event.details.items())
    return f"{line}\n      {safe(details, room)}" if details else line


def stamp(moment: datetime) -> str:
    """The time in the reader's zone, to the second, with the UTC time as the fallback text."""
    return f"<!date^{int(moment.timestamp())}^{{date_short}} {{time_secs}}|{moment:%Y-%m-%d %H:%M:%S} UTC>"


def _shown(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _button(label: str, action_id: str, tenant_id: str, edge: FeedPosition | None) -> ButtonElement | None:
    if edge is None:
        return None
    return ButtonElement(text=label, action_id=action_id, value=f"{tenant_id}:{cursor(edge)}")
