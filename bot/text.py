"""Text from data, made safe and short for Slack's mrkdwn, and the size budget of one message.

Slack reads `<…>` as mentions and links (`<!channel>` pings everyone, `<https://x|label>` shows a
link under any label) and `&` as the start of an entity, so every piece of text that comes from data —
errors, reasons, step names, resource ids, actors, tenant ids — goes through `safe`, `code` or
`fenced`, inside code blocks too — and through core/redaction.py's `redact` first, so a token or a
password quoted in an error never reaches a channel. Slack also refuses messages far below its documented 40,000
characters: `msg_blocks_too_long` was observed at about 13,200 characters of blocks and at 11,341 of
text (slackapi/bolt-js#2509 and #2867), so renderers keep each message's block JSON under `BUDGET`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from core.redaction import redact

BUDGET = 11_000  # characters of block JSON per message; under both observed rejections
PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
BACKTICK = "ˋ"  # stands in for ` in data shown as code, so data cannot close the code span


def esc(text: str) -> str:
    return redact(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def safe(text: str, limit: int) -> str:
    """`text` escaped, at most `limit` characters, never cut inside an entity."""
    escaped = esc(text)
    if len(escaped) <= limit:
        return escaped
    return PARTIAL_ENTITY.sub("", escaped[: max(limit - 1, 0)]) + "…"


def code(text: str, limit: int = 200) -> str:
    """Inline code of data: escaped, cut inside the backticks."""
    return f"`{safe(text.replace('`', BACKTICK), max(limit - 2, 1))}`"


def fenced(text: str, limit: int) -> str:
    """A code block of data, cut inside the fence so the closing ``` always survives."""
    return f"```{safe(text.replace('`', BACKTICK), max(limit - 6, 1))}```"


def listing(items: Sequence[str], limit: int, separator: str = ", ", more: str = "") -> str:
    """As many already-safe items as fit in `limit` characters, then "… and N more" (plus `more`)."""
    shown = ""
    for i, item in enumerate(items):
        rest = len(items) - i
        candidate = f"{shown}{separator if shown else ''}{item}"
        if len(candidate) + (len(f" … and {rest - 1} more{more}") if rest > 1 else 0) > limit:
            return f"{shown} … and {rest} more{more}" if shown else f"{len(items)} items{more}"
        shown = candidate
    return shown


def size(blocks: Sequence[Block]) -> int:
    """Characters of block JSON as sent; `to_dict()` also checks each element's own Block Kit limits."""
    return json_size([b.to_dict() for b in blocks])


def json_size(blocks: Sequence[dict[str, Any]]) -> int:
    """Characters of blocks already turned into JSON objects, as sent."""
    return len(json.dumps(blocks, ensure_ascii=False))
