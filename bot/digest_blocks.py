"""Block Kit for a digest: one message for a mass wedge, re-rendered as its members resolve.

Slack caps a select at 100 options and a section's text at 3,000 characters (and has refused block
payloads of about 13,000 characters: bolt-js#2509), so the digest names what is still wedged in text
as far as it fits and offers every member through small selects:
- up to 50 still wedged: one "Alert for…" select listing them all (one click to a member's alert);
- more: a "Page…" select (50 members a page, 100 pages); picking a page answers privately with that
  page's list and its own select (two clicks to any member's alert).
A member's alert (answered privately) has its own Reset with confirmation, Details and Snooze.
"""

from __future__ import annotations

from collections import Counter
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

from bot.alert_blocks import situation_label
from bot.blocks import cut
from core.alerts import Alert, Digest

PAGE, MAX_PAGES, LIST_CHARS = 50, 100, 2900
DIGEST_BLOCK = "alert_digest:{}"  # digest id
PICK, PAGE_PICK = "alert_pick", "alert_page"


def digest_text(members: Sequence[Alert]) -> str:
    still = [m for m in members if m.resolved_at is None]
    return f"{len(members)} tenants wedged at once — {len(still)} still wedged, {len(members) - len(still)} resolved"


def digest_blocks(digest: Digest, members: Sequence[Alert]) -> list[Block]:
    still = [m for m in members if m.resolved_at is None]
    if not still:
        text = f":white_check_mark: *{len(members)} tenants were wedged at once* — all resolved; see the thread."
        return [SectionBlock(text=MarkdownTextObject(text=text))]
    counts = Counter(situation_label(m.situation) for m in still)
    snoozed = sum(1 for m in still if m.snoozed_until is not None)
    summary = (
        f"*{len(still)} still wedged* ({', '.join(f'{n} {label}' for label, n in counts.most_common())}), "
        f"*{len(members) - len(still)} resolved*" + (f", {snoozed} snoozed" if snoozed else "") + ". "
        "Likely one cause (a cluster reset?). Suggested for each: Reset, then Retry."
    )
    more = "pick a page below" if len(still) > PAGE else "all in the menu below"
    beyond = f" Pages list the first {PAGE * MAX_PAGES}; `/tenant stuck` lists all." if overflow(still) else ""
    return [
        HeaderBlock(text=cut(f":rotating_light: {len(members)} tenants wedged at once", 150)),
        SectionBlock(text=MarkdownTextObject(text=cut(summary, 3000))),
        SectionBlock(text=MarkdownTextObject(text=id_list("*Still wedged:* ", still, more))),
        ActionsBlock(block_id=DIGEST_BLOCK.format(digest.id), elements=[picker(digest, still)]),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="A tenant's alert (Reset, Details, Snooze) opens privately; resolutions go to the thread."
                    + beyond
                )
            ]
        ),
    ]


def picker(digest: Digest, still: Sequence[Alert]) -> StaticSelectElement:
    if len(still) <= PAGE:
        return StaticSelectElement(placeholder="Alert for…", action_id=PICK, options=[member(m) for m in still])
    pages = [still[i : i + PAGE] for i in range(0, len(still), PAGE)][:MAX_PAGES]
    options = [
        Option(text=cut(f"{n + 1}: {chunk[0].tenant_id} … {chunk[-1].tenant_id}", 75), value=f"{digest.id}:{n}")
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
        SectionBlock(text=MarkdownTextObject(text=id_list(title, chunk, "see the menu"))),
        ActionsBlock(
            block_id=DIGEST_BLOCK.format(digest_id),
            elements=[StaticSelectElement(placeholder="Alert for…", action_id=PICK, options=list(map(member, chunk)))],
        ),
    ]


def member(alert: Alert) -> Option:
    label = f"{alert.tenant_id} (snoozed)" if alert.snoozed_until is not None else alert.tenant_id
    return Option(text=cut(label, 75), value=f"{alert.id}:{alert.tenant_id}")


def id_list(title: str, alerts: Sequence[Alert], more: str) -> str:
    """`title` and the tenant ids, as many as fit in a section; the rest counted, never silently cut."""
    text = title
    for n, alert in enumerate(alerts):
        piece = ("" if n == 0 else ", ") + f"`{alert.tenant_id}`"
        tail = f" … and {len(alerts) - n} more ({more})"
        if len(text) + len(piece) + len(tail) > LIST_CHARS:
            return text + tail
        text += piece
    return text


def overflow(still: Sequence[Alert]) -> bool:
    return len(still) > PAGE * MAX_PAGES
