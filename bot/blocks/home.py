"""The bot's Home tab (core/home.py's `Home`): the read-only switch and the last scan at the top, the wedged
tenants by cause with a button to each, the alerts the viewer took, and their last actions.

A pure renderer to a `View` of type "home", within Slack's 100 blocks per view: at most `MAX_GROUPS`
causes with `MAX_BUTTONS` tenants each (the rest counted, `/tenant stuck` has them all). A part that could
not be read says so in its place; when nothing could be read the Home is one short line. Each tenant's
button sends its card to the viewer (bot/listeners/home.py).
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.common import SLACK_MARKUP, actor, md
from bot.blocks.history import stamp
from bot.text import code, safe
from core.causes import Group, label
from core.domain import AuditEvent
from core.durations import format_duration
from core.events import PREFIX
from core.freeze import Freeze
from core.home import ClaimedAlert, Home, ScanTick, Unread

OPEN_TENANT = "home_open_tenant"  # a tenant's button: its card, sent to the viewer
MAX_GROUPS = 10
MAX_BUTTONS = 10  # of Slack's 25 elements per actions block: a glanceable row
MAX_CLAIMED = 10


def home_view(home: Home) -> View:
    if home.unreadable:
        return unreadable_view(home.frozen.why if isinstance(home.frozen, Unread) else "")
    blocks: list[Block] = [
        HeaderBlock(text="tenantbot"),
        SectionBlock(text=md(switch_line(home.frozen, home))),
        ContextBlock(elements=[md(scan_line(home.last_scan, home))]),
        DividerBlock(),
        HeaderBlock(text="Wedged tenants"),
        *wedged_blocks(home.wedged),
        DividerBlock(),
        HeaderBlock(text="Alerts you took"),
        *claimed_blocks(home.claimed),
        DividerBlock(),
        HeaderBlock(text="Your last actions"),
        SectionBlock(text=md(actions_text(home.actions))),
    ]
    return View(type="home", blocks=blocks)


def unreadable_view(why: str) -> View:
    """The short Home of a database (or engine) that did not answer: what could not be read, and what to do."""
    because = f": {safe(why, 500)}" if why else ""
    text = f":rotating_light: Could not read tenantbot's state{because}. Open this tab again shortly."
    return View(type="home", blocks=[HeaderBlock(text="tenantbot"), SectionBlock(text=md(text))])


def unread(part: str, missing: Unread) -> str:
    return f":warning: Could not read {part}: {safe(missing.why, 500)}"


def switch_line(frozen: Freeze | Unread | None, home: Home) -> str:
    if isinstance(frozen, Unread):
        return unread("the read-only switch", frozen)
    if frozen is None:
        return ":large_green_circle: *Not frozen*: actions are allowed."
    return (
        f":snowflake: *Frozen (read-only)* by {actor(frozen.by)} since {frozen.since(home.now)}: "
        f"{safe(frozen.reason, 500)}. Every action is refused until `/tenant unfreeze`."
    )


def scan_line(tick: ScanTick | Unread | None, home: Home) -> str:
    if isinstance(tick, Unread):
        return unread("the last scan", tick)
    if tick is None:
        return "No scan has finished yet (the scan runs with `serve` when ALERT_CHANNEL is set)."
    line = f"Last scan: {stamp(tick.at)}, {tick.wedged} wedged"
    if home.scan_late and home.scan_every is not None:
        every = format_duration(home.scan_every)
        return f":warning: {line}. *The scan is late* (it runs every {every}): alerts may be missing."
    return line


def wedged_blocks(groups: list[Group] | Unread) -> list[Block]:
    if isinstance(groups, Unread):
        return [SectionBlock(text=md(unread("the wedged tenants", groups)))]
    if not groups:
        return [SectionBlock(text=md(":white_check_mark: No wedged tenants right now."))]
    blocks: list[Block] = []
    for i, g in enumerate(groups[:MAX_GROUPS]):
        blocks.append(SectionBlock(text=md(f"*{len(g)}* {label(g.cause, SLACK_MARKUP)}")))
        blocks.append(ActionsBlock(block_id=f"home_cause:{i}", elements=[button(t) for t in g.members[:MAX_BUTTONS]]))
        if len(g) > MAX_BUTTONS:
            blocks.append(ContextBlock(elements=[md(f"…and {len(g) - MAX_BUTTONS} more: `/tenant stuck`")]))
    if len(groups) > MAX_GROUPS:
        rest = sum(len(g) for g in groups[MAX_GROUPS:])
        blocks.append(ContextBlock(elements=[md(f"…and {rest} more in other causes: `/tenant stuck`")]))
    return blocks


def button(tenant_id: str) -> ButtonElement:
    return ButtonElement(text=tenant_id, action_id=OPEN_TENANT, value=tenant_id)


def claimed_blocks(claimed: list[ClaimedAlert] | Unread) -> list[Block]:
    if isinstance(claimed, Unread):
        return [SectionBlock(text=md(unread("the alerts you took", claimed)))]
    if not claimed:
        return [SectionBlock(text=md("None open. _Take it_ on an alert makes it yours."))]
    return [
        SectionBlock(
            text=md(f"*{safe(a.tenant_id, 63)}* — {safe(a.reason, 300)}{taken(a)}"),
            accessory=button(a.tenant_id),
        )
        for a in claimed[:MAX_CLAIMED]
    ]


def taken(alert: ClaimedAlert) -> str:
    return f"\n_taken {stamp(alert.taken_at)}_" if alert.taken_at is not None else ""


def actions_text(events: list[AuditEvent] | Unread) -> str:
    if isinstance(events, Unread):
        return unread("your last actions", events)
    if not events:
        return "Nothing yet: what you do to tenants shows here."
    return "\n".join(
        f"• {stamp(e.at)} {code(e.type.removeprefix(PREFIX), 60)} on *{safe(e.tenant_id, 63)}*" for e in events
    )
