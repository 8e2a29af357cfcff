"""What Slack refuses in a message, as the stand-in checks it (Slack's Block Kit reference, and bolt-js issues).

Documented: 50 blocks, 3,000 characters of section text, 2,000 per field, 40,000 of message text,
and every element's own limits (slack_sdk validates those in `to_dict()`). Observed below the
documented ones: `msg_blocks_too_long` at about 13,200 characters of blocks (bolt-js#2509) and at
11,341 characters of text (bolt-js#2867). The stand-in refuses above 12,000 characters of block JSON,
which is under both observations; the bot's own budget must stay under it.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
MAX_BLOCKS_JSON = 12_000
MAX_TEXT = 40_000
MAX_FIELD = 2_000
RESPONSE_URL_USES = 5  # "up to 5 times within 30 minutes"


def rejection(message: dict[str, Any]) -> str | None:
    """Slack's error code for a message it would not take, or None when it would."""
    text, blocks = message.get("text"), message.get("blocks")
    if not text and not blocks:
        return "no_text"
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return "msg_too_long"
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        try:
            parsed = Block.parse(block)
            if parsed is None:
                return "invalid_blocks"
            parsed.to_dict()
        except (SlackObjectFormationError, KeyError, TypeError, ValueError):
            return "invalid_blocks"
        if any(len(f.get("text", "")) > MAX_FIELD for f in block.get("fields") or []):
            return "invalid_blocks"
    if len(json.dumps(blocks, ensure_ascii=False)) > MAX_BLOCKS_JSON:
        return "msg_blocks_too_long"
    return None
