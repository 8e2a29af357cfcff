"""The `/tenant stuck` list: one row per wedged tenant, as many as fit in one message.

The tenants come grouped by cause (core/causes.py), largest group first, under a one-line summary
("By cause: 470 orphaned at `create_storage`; 25 wedged at …"). Each row's reason (which can carry a
3,000-character error) is cut, and rows are added while the message stays under Slack's size budget
and 50 blocks; the rest are counted in "…and N more".
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.blocks.common import causes, md
from bot.text import BUDGET, code, cut, safe, size
from core.causes import cause_of, group
from core.decisions import Assessment

MAX_ROWS = 47  # 50 blocks less the header, the causes and the "…and N more" line


def stuck_list(wedged: dict[str, Assessment], reason_limit: int = 300) -> list[Block]:
    """One row per wedged tenant, as many as fit in one message (and 50 blocks), then "…and N more"."""
    if not wedged:
        return [SectionBlock(text=md(":white_check_mark: No wedged tenants right now."))]
    groups = group({tenant_id: cause_of(a) for tenant_id, a in wedged.items()})
    rows = [(tenant_id, wedged[tenant_id]) for g in groups for tenant_id in g.members]
    header = HeaderBlock(text=f"{len(rows)} wedged tenant{'s' if len(rows) != 1 else ''}")
    summary = SectionBlock(text=md(cut(causes(groups), 3000)))
    shown: list[Block] = []
    room = BUDGET - size([header, summary]) - 200  # what is left after the header, summary and "…and N more"
    for tenant_id, a in rows[:MAX_ROWS]:
        row = SectionBlock(
            text=md(
                f"*{safe(tenant_id, 63)}* · {a.situation} — {safe(a.reason, reason_limit)}\n"
                f"Recommended: {safe(a.advice, 400)} · {code('/tenant ' + tenant_id, 80)}"
            )
        )
        room -= size([row]) + 2  # and the ", " between blocks
        if room < 0:
            break
        shown.append(row)
    more = [ContextBlock(elements=[md(f"…and {len(rows) - len(shown)} more")])] if len(shown) < len(rows) else []
    return [header, summary, *shown, *more]
