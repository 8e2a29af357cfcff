"""Reading the optional parts of a Slack payload, where a field of the wrong type reads as absent.

The signature proves who sent a request, not that its fields have the shapes Slack documents: a proxy,
a client bug or a hand-made request can put a string where an object belongs. The parts a listener
needs to act (the action, the user) are checked at the door (bot/http.py); the parts that only shape
the answer (where the button sits, the channel to answer in) are read through these helpers, so a
malformed one changes how the user is answered, never whether.
"""

from __future__ import annotations

from typing import Any


def dig(body: Any, *path: str) -> Any:
    """`body[path[0]][path[1]]…`, or None as soon as a step is not an object or lacks the key."""
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def text_at(body: Any, *path: str) -> str | None:
    value = dig(body, *path)
    return value if isinstance(value, str) and value else None


def on_private_message(body: Any) -> bool:
    """Whether the button sits on a message only the presser sees. Unsure means shared: then a refusal
    is told to the presser alone and the card everyone sees is left as it is."""
    return dig(body, "container", "is_ephemeral") is True


def presser_in_channel(body: Any) -> tuple[str, str] | None:
    """(channel id, user id) of a press or command, to answer with chat.postEphemeral; None if unknown."""
    channel = (
        text_at(body, "channel", "id")
        or text_at(body, "container", "channel_id")
        or text_at(body, "channel_id")
        or text_at(body, "channel")
    )
    user = text_at(body, "user", "id") or text_at(body, "user_id")
    return (channel, user) if channel and user else None
