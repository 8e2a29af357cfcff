"""What an action button carries (the message's `Seen`, core/seen.py), packed small and read strictly,
and what a preview modal keeps in its `private_metadata` until it is submitted (`Opened`).

A button's value is `<tenant>|<attempt>|<workflow id or ->|<run id or ->|<situation key>|<drawn at,
epoch seconds>`, about 130 characters (Slack allows 2,000). It comes back in a signed request, but a
signature proves who sent it, not that this bot drew it: an old message (drawn before buttons carried
this), an edited payload or a replay tool can send anything. So every part is checked against its
exact shape and anything else is refused as `Tampered`, answered in one clear line; nothing runs on a
value that does not say which run its message showed. The modal's metadata is read the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from yarl import URL

from bot.payload import on_private_message, text_at
from core.decisions import Situation
from core.domain import Action, InvalidTenantId, parse_tenant_id
from core.previews import PREVIEWED
from core.seen import Seen

VALUE = re.compile(
    r"(?P<tenant>[a-z0-9-]{1,63})\|(?P<attempt>[0-9]{1,6})\|(?P<workflow>[a-z0-9-]{1,100})\|(?P<run>[A-Za-z0-9_.-]{1,80})"
    r"\|(?P<situation>[a-z_]{1,40})\|(?P<at>[0-9]{1,10})"
)
NO_RUN = "-"


class Tampered(InvalidTenantId):
    """A button, menu or form whose values this bot did not draw (an old or altered message)."""


def pack(seen: Seen) -> str:
    workflow = seen.workflow_id if seen.workflow_id is not None else NO_RUN
    run = seen.run_id if seen.run_id is not None else NO_RUN
    return f"{seen.tenant_id}|{seen.attempt}|{workflow}|{run}|{seen.situation.key}|{int(seen.at.timestamp())}"


def unpack(value: object) -> Seen:
    """The `Seen` a button carries. Raises Tampered for anything `pack` would not have written."""
    text = value if isinstance(value, str) else ""
    match = VALUE.fullmatch(text)
    if match is None:
        raise Tampered(
            "this button does not say which run its message showed (an old or altered message), so nothing ran; "
            "run /tenant <tenant-id> for a fresh card"
        )
    try:
        tenant_id = parse_tenant_id(match["tenant"])
        situation = Situation.from_key(match["situation"])
        at = datetime.fromtimestamp(int(match["at"]), UTC)
    except (InvalidTenantId, ValueError, OverflowError, OSError) as e:
        raise Tampered(f"this button's value is not one tenantbot draws ({e}); nothing ran") from e
    workflow = None if match["workflow"] == NO_RUN else match["workflow"]
    run = None if match["run"] == NO_RUN else match["run"]
    return Seen(tenant_id, int(match["attempt"]), workflow, run, situation, at)


@dataclass(frozen=True)
class Opened:
    """What a preview modal was opened from, kept in its `private_metadata` until it is submitted: the
    action, what the pressed message showed, and where the answer goes (the press's response_url, the
    channel and message, whether only the presser sees that message, and whether it was a card or an alert)."""

    action: Action
    seen: Seen
    response_url: str
    channel: str | None
    ts: str | None
    private: bool
    source: str  # "card" or "alert"

    @classmethod
    def of(cls, action: Action, seen: Seen, press: dict[str, Any], source: str) -> Opened:
        """From a press (its response_url checked at the door, bot/shapes.py); a channel or message ts
        not shaped as Slack's is left out rather than kept in a form that could not be read back."""
        channel = text_at(press, "container", "channel_id") or text_at(press, "channel", "id")
        ts = text_at(press, "container", "message_ts")
        return cls(
            action,
            seen,
            str(press["response_url"]),
            channel if _matches(SLACK_ID, channel) else None,
            ts if _matches(TS, ts) else None,
            on_private_message(press),
            source,
        )


SOURCES = ("card", "alert")
SLACK_ID = re.compile(r"[A-Z0-9]{1,40}")
TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,12}")
FORGED_FORM = "this form is not one tenantbot opened (an altered request), so nothing ran; press the button again"


def pack_opened(opened: Opened) -> str:
    """The modal's private_metadata (Slack keeps up to 3,000 characters; this is a few hundred)."""
    return json.dumps(
        {
            "action": opened.action.value,
            "seen": pack(opened.seen),
            "response_url": opened.response_url,
            "channel": opened.channel,
            "ts": opened.ts,
            "private": opened.private,
            "source": opened.source,
        },
        separators=(",", ":"),
    )


def unpack_opened(metadata: object) -> Opened:
    """The `Opened` a submitted modal carries. Raises Tampered for anything `pack_opened` would not write."""
    try:
        data = json.loads(metadata) if isinstance(metadata, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or set(data) != OPENED_KEYS:
        raise Tampered(FORGED_FORM)
    action, url, channel, ts = data["action"], data["response_url"], data["channel"], data["ts"]
    if (
        action not in {a.value for a in PREVIEWED}
        or data["source"] not in SOURCES
        or not isinstance(data["private"], bool)
    ):
        raise Tampered(FORGED_FORM)
    if not _web_address(url) or not _matches(SLACK_ID, channel) or not _matches(TS, ts):
        raise Tampered(FORGED_FORM)
    return Opened(Action(action), unpack(data["seen"]), url, channel, ts, data["private"], data["source"])


OPENED_KEYS = {"action", "seen", "response_url", "channel", "ts", "private", "source"}


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    """None (not known when the modal opened) or a string of exactly that shape."""
    return value is None or (isinstance(value, str) and pattern.fullmatch(value) is not None)


def _web_address(value: object) -> bool:
    try:
        url = URL(value) if isinstance(value, str) and len(value) <= 1000 else None
    except ValueError:
        return False
    return url is not None and url.scheme in ("http", "https") and bool(url.host)
