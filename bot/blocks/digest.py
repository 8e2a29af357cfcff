"""Block Kit for a digest: one message for a mass wedge, re-rendered as its members resolve.

Slack caps a select at 100 options and a section's text at 3,000 characters (and has refused block
payloads of about 13,000 characters: bolt-js#2509), so the digest offers every member through small
selects and names what is still wedged in text as far as the message budget (`bot/text.BUDGET`) allows:
- up to 25 still wedged: one "Alert for…" select listing them all (one click to a member's alert);
- more: a "Page…" select (25 members a page, 100 pages); picking a page answers privately with that
  page's list and its own select (two clicks to any member's alert).
Pages of 25 keep a page's select within the budget even for 63-character tenant ids.
The summary groups the still-wedged members by cause, largest group first (core/causes.py): "By cause:
470 orphaned at `create_storage`; 25 wedged at `configure_network`: upstream API returned 500; 5 other".
A member's alert (answered privately) has its own Reset (with its preview), Details and Snooze. The
largest cause groups of two or more (not wedged again) offer "Reset all N" and "Reset and Retry all N"
(a batch with a preview: bot/blocks/batch.py). While tenantbot is frozen (core/freeze.py) the digest
shows the freeze's banner, no batch buttons, and members' alerts no Reset.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks.batch import offer_block
from bot.blocks.common import causes
from bot.blocks.freeze import banner
from bot.text import BUDGET, cut, listing, size
from core.alerting.batch_groups import offered
from core.alerting.model import Alert, Digest
from core.causes import group

PAGE, MAX_PAGES = 25, 100
LIST_ROOMS = (2900, 1200, 300)  # characters of the "still wedged" list, tried until the digest fits
LIST_CHARS = LIST_ROOMS[0]
DIGEST_BLOCK = "alert_digest:{}"  # digest id
PICK, PAGE_PICK = "alert_pick", "alert_page"


def digest_text(members: Sequence[Alert]) -> str:
    still = [m for m in members if m.resolved_at is None]
    return f"{len(members)} tenants wedged at once — {len(still)} still wedged, {len(members) - len(still)} resolved"


def digest_blocks(digest: Digest, members: Sequence[Alert]) -> list[Block]:
    """The digest within the message budget: the list of names shrinks first, the menus never."""
    rooms = [(chars, MAX_PAGES) for chars in LIST_ROOMS] + [(LIST_ROOMS[-1], MAX_PAGES // 2)]
    for list_chars, pages in rooms:
        blocks = _digest(digest, members, list_chars, pages)
        if size(blocks) <= BUDGET:
            break
    return blocks


def _digest(digest: Digest, members: Sequence[Alert], list_chars: int, max_pages: int) -> list[Block]:
    still = [m for m in members if m.resolved_at is None]
    if not still:
        text = f":white_check_mark: *{len(members)} tenants were wedged at once* — all resolved; see the thread."
        return [SectionBlock(text=MarkdownTextObject(text=text))]
    groups = group({m.tenant_id: m.cause for m in still})
    snoozed = sum(1 for m in still if m.snoozed_until is not None)
    again = sum(1 for m in still if m.escalated)
    summary = (
        f"*{len(still)} still wedged*, *{len(members) - len(still)} resolved*"
        + (f", {snoozed} snoozed" if snoozed else "")
        + ". Suggested for each: Reset, then Retry"
        + (f" — except {again} wedged again after Reset and Retry: escalate those" if again else "")
        + ".\n"
        + causes(groups)
    )
    more = "pick a page below" if len(still) > PAGE else "all in the menu below"
    beyond = (
        f" Pages list the first {PAGE * max_pages}; `/tenant stuck` lists all." if overflow(still, max_pages) else ""
    )
    return [
        HeaderBlock(text=cut(f":rotating_light: {len(members)} tenants wedged at once", 150)),
        *([banner(digest.frozen)] if digest.frozen else []),
        SectionBlock(text=MarkdownTextObject(text=cut(summary, 3000))),
        SectionBlock(text=MarkdownTextObject(text=id_list("*Still wedged:* ", still, more, list_chars))),
        ActionsBlock(block_id=DIGEST_BLOCK.format(digest.id), elements=[picker(digest, still, max_pages)]),
        *([offer_block(digest.id, batches)] if (batches := offered(digest, members)) else []),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="A tenant's alert (Reset, Details, Snooze) opens privately; resolutions go to the thread."
                    + beyond
                )
            ]
        ),
    ]


def picker(digest: Digest, still: Sequence[Alert], max_pages: int = MAX_PAGES) -> StaticSelectElement:
    if len(still) <= PAGE:
        return StaticSelectElement(placeholder="Alert for…", action_id=PICK, options=[member(m) for m in still])
    pages = [still[i : i + PAGE] for i in range(0, len(still), PAGE)][:max_pages]
    options = [
        Option(
            text=f"{n + 1}: {cut(chunk[0].tenant_id, 18)} … {cut(chunk[-1].tenant_id, 18)}", value=f"{digest.id}:{n}"
        )
        for n, chunk in enumerate(pages)
    ]
    return StaticSelectElement(placeholder=f"Page… ({len(pages)} of {PAGE})", action_id=PAGE_PICK, options=options)


def page_blocks(digest_id: int, still: Sequence[Alert], page: int) -> list[Block]:
    """One page of a digest's still-wedged members, answered privately: the complete list and a select."""
    chunk = list(still[page * PAGE : (page + 1) * PAGE])
    if not chunk:
        return [SectionBlock(text=MarkdownTextObject(text="That page is empty now: its tenants have resolved."))]
    pages = (len(still) + PAGE - 1) // PAGE
    title = f"*Page {page + 1} of {pages}* of the digest ({chunk[0].tenant_id} … {chunk[-1].tenant_id}):\n"
    return [
        SectionBlock(text=MarkdownTextObject(text=id_list(title, chunk, "see the menu", LIST_CHARS))),
        ActionsBlock(
            block_id=DIGEST_BLOCK.format(digest_id),
            elements=[StaticSelectElement(placeholder="Alert for…", action_id=PICK, options=list(map(member, chunk)))],
        ),
    ]


def member(alert: Alert) -> Option:
    label = f"{alert.tenant_id} (snoozed)" if alert.snoozed_until is not None else alert.tenant_id
    return Option(text=cut(label, 75), value=f"{alert.id}:{alert.tenant_id}")


def id_list(title: str, alerts: Sequence[Alert], more: str, limit: int) -> str:
    """`title` and the tenant ids, as many as fit in a section; the rest counted, never silently cut."""
    return title + listing([f"`{a.tenant_id}`" for a in alerts], limit - len(title), more=f" ({more})")


def overflow(still: Sequence[Alert], max_pages: int = MAX_PAGES) -> bool:
    return len(still) > PAGE * max_pages
