"""The `/tenant stuck` list: one row per wedged tenant, as many as fit in one message.

Each row's reason (which can carry a 3,000-character error) is cut, and rows are added while the
message stays under Slack's size budget and 50 blocks; the rest are counted in "…and N more".
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.blocks.common import md
from bot.text import BUDGET, code, safe, size
from core.decisions import Assessment

MAX_ROWS = 48  # 50 blocks less the header and the "…and N more" line


def stuck_list(wedged: dict[str, Assessment], reason_limit: int = 300) -> list[Block]:
    """One row per wedged tenant, as many as fit in one message (and 50 blocks), then "…and N more"."""
    if not wedged:
        return [SectionBlock(text=md(":white_check_mark: No wedged tenants right now."))]
    rows = sorted(wedged.items())
    header = HeaderBlock(text=f"{len(rows)} wedged tenant{'s' if len(rows) != 1 else ''}")
    shown: list[Block] = []
    room = BUDGET - size([header]) - 200  # what is left after the header and the "…and N more" line
    for tenant_id, a in rows[:MAX_ROWS]:
        row = SectionBlock(
            text=md(
                f"*{safe(tenant_id, 63)}* · {a.situation} — {safe(a.reason, reason_limit)}\n"
                f"Recommended: {a.recommended} · {code('/tenant ' + tenant_id, 80)}"
            )
        )
        room -= size([row]) + 2  # and the ", " between blocks
        if room < 0:
            break
        shown.append(row)
    more = [ContextBlock(elements=[md(f"…and {len(rows) - len(shown)} more")])] if len(shown) < len(rows) else []
    return [header, *shown, *more]
