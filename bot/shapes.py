"""The shapes of Slack's request bodies, checked once, before Bolt or a listener reads one.

Bolt's request parsing and the listeners read a body the way Slack sends it: `team`, `enterprise`,
`user` and `channel` an id or an object, `authorizations` a list of objects, `event` an object, a
press's `actions` objects with an `action_id`, a modal submission's `view` an object with an id. A
validly signed body shaped otherwise (Slack does not send one, but a replay tool, a proxy or anyone
holding the secret can) made them raise deep inside: a 500 and a traceback per request. Here such a
body is named and refused (400, one INFO line), so the code after this check reads payloads plainly.
Only the kinds of request this app answers pass: slash commands, Block Kit presses (with a response_url,
except in the App Home), modal submissions (`view_submission`), Events API callbacks (the App Home's
`app_home_opened`), and Slack's own `ssl_check` and `url_verification`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from yarl import URL

MAX_DEPTH = 40  # Slack's deepest payloads (rich-text blocks of a message) nest about a dozen levels
TYPES = (
    "block_actions",
    "view_submission",
    "event_callback",
    "url_verification",
)  # a body with no type is a command or ssl_check
CARRIERS = ("event", "message", "previous_message", "item", "assistant_thread", "view")  # Bolt reads ids in these
LISTS = ("authorizations", "response_urls")


def _text(value: object) -> bool:
    return isinstance(value, str)


def _identity(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and isinstance(value.get("id", ""), str))


def _object(value: object) -> bool:
    return isinstance(value, dict)


def _objects(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _url(value: object) -> bool:
    """Where the answer goes: an absolute http(s) address (Slack's are https://hooks.slack.com/…)."""
    try:
        url = URL(value) if isinstance(value, str) else None
    except ValueError:
        return False
    return url is not None and url.scheme in ("http", "https") and bool(url.host)


# what Bolt and the listeners take each field to be, wherever it appears (Bolt reads the other objects
# it looks into, like `message` or `view`, only when they are objects); null passes (Slack sends
# "enterprise_id": null) except for `event`, which Bolt reads as `body.get("event", {})`
FIELDS: dict[str, tuple[Callable[[object], bool], str]] = {
    **{k: (_identity, "an id or an object with an id") for k in ("team", "enterprise", "user", "channel")},
    **{
        k: (_text, "a string")
        for k in (
            *("api_app_id", "team_id", "enterprise_id", "user_id", "channel_id", "callback_id", "event_id"),
            *("trigger_id", "private_metadata", "hash"),
        )
    },
    "response_url": (_url, "an http(s) address"),
    "event": (_object, "an object"),
    **{k: (_objects, "a list of objects") for k in LISTS},
}


def read(text: str, content_type: str | None) -> tuple[dict[str, Any], str | None]:
    """The body of a signed request, and why it is not a request this app can read (None if it is).

    Parsed here rather than by Bolt, whose parser takes every form body containing the text "payload"
    (`/tenant payload-svc`, a channel named #payloads) for an interaction and reads it as empty."""
    try:
        body = parse(text, content_type)
    except (ValueError, RecursionError) as e:  # not JSON, or nested beyond what the parser takes
        return {}, f"unreadable body: {type(e).__name__}"
    problem = shape(body)
    return (body if problem is None else {}), problem


def parse(text: str, content_type: str | None) -> Any:
    """JSON (the Events API), a form whose one field `payload` is JSON (interactions), or a form (commands)."""
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    form = dict(parse_qsl(text, keep_blank_values=True))
    return json.loads(form["payload"]) if "payload" in form else form


def shape(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the body is not an object"
    if too_deep(body):
        return f"the body nests deeper than {MAX_DEPTH} levels"
    return fields(body) or kind(body)


def kind(body: dict[str, Any]) -> str | None:
    if "type" not in body:
        if body.get("ssl_check") == "1" or "command" in body:
            return command(body)
        return "not a slash command, a button press or an event"
    if body["type"] not in TYPES:
        return f"not a kind of request this app answers (type {str(body['type'])[:40]!r})"
    if body["type"] == "block_actions":
        return press(body)
    if body["type"] == "view_submission":
        return submission(body)
    if body["type"] == "event_callback" and "event" not in body:
        return "an event callback needs an event"
    return None


def command(body: dict[str, Any]) -> str | None:
    if "command" in body and not all(isinstance(body.get(k), str) for k in ("command", "user_id", "response_url")):
        return "a command needs command, user_id and response_url"
    return None


def press(body: dict[str, Any]) -> str | None:
    actions, user = body.get("actions"), body.get("user")
    if not isinstance(actions, list) or not actions:
        return "a button press needs actions"
    if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
        return "every action needs an action_id"
    if not all(isinstance(a.get("selected_option") or {}, dict) for a in actions):
        return "a chosen option must be an object"
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return "a button press needs a user"
    if not isinstance(body.get("response_url"), str) and not in_home_tab(body):
        return "a button press needs a response_url"
    return None


def submission(body: dict[str, Any]) -> str | None:
    view, user = body.get("view"), body.get("user")
    if (
        not isinstance(view, dict)
        or not isinstance(view.get("id"), str)
        or not isinstance(view.get("callback_id"), str)
    ):
        return "a view submission needs a view with an id and a callback_id"
    if not isinstance(view.get("state", {}), dict):
        return "a view's state must be an object"
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return "a view submission needs a user"
    return None


def in_home_tab(body: dict[str, Any]) -> bool:
    """A press in the App Home: Slack sends no response_url (there is no message to answer); the listener
    answers in the presser's DM (bot/listeners/home.py)."""
    view = body.get("view")
    return isinstance(view, dict) and view.get("type") == "home"


def fields(obj: dict[str, Any], where: str = "") -> str | None:
    """The first field of `obj`, or of an object it carries, that is not what Bolt takes it to be."""
    for key, (fits, what) in FIELDS.items():
        if (obj.get(key) is not None or (key == "event" and key in obj)) and not fits(obj[key]):
            return f"{where}{key} must be {what}"
    inner = [(k, obj[k]) for k in CARRIERS if isinstance(obj.get(k), dict)]
    inner += [(f"{k}[{i}]", item) for k in LISTS for i, item in enumerate(obj.get(k) or ())]
    return next((p for name, value in inner if (p := fields(value, f"{where}{name}.")) is not None), None)


def too_deep(body: object) -> bool:
    """Measured without recursion, so the measuring cannot overflow the stack it protects."""
    level: list[object] = [body]
    for _ in range(MAX_DEPTH):
        level = [v for node in level for v in _children(node)]
        if not level:
            return False
    return True


def _children(node: object) -> list[object]:
    if isinstance(node, dict):
        return [v for v in node.values() if isinstance(v, dict | list)]
    if isinstance(node, list):
        return [v for v in node if isinstance(v, dict | list)]
    return []
