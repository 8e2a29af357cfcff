"""Requests nobody should send, over HTTP to the running endpoint: forged or odd headers get 401, signed
bodies of the wrong shape get 400 or a private answer; never a 500, a traceback or an ERROR line."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.blocks.alert import ALERT_BLOCK
from bot.blocks.digest import PAGE_PICK, PICK
from core.decisions import Situation
from tests.e2e.conftest import SECRET, Bot
from tests.e2e.situations import make

Header = tuple[bytes, bytes]


def signature(body: bytes, timestamp: str, secret: str = SECRET) -> bytes:
    signed = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signed is not None
    return signed.encode()


async def raw_post(bot: Bot, headers: list[Header], body: bytes) -> tuple[int, bytes]:
    """POST with exactly these header bytes (repeated, empty, non-ASCII, huge), which HTTP clients tidy up."""
    url = urlsplit(bot.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    lines = [
        f"POST {url.path} HTTP/1.1".encode(),
        b"Host: slack.example",
        b"Content-Type: application/x-www-form-urlencoded",
        b"Content-Length: %d" % len(body),
        b"Connection: close",
        *(name + b": " + value for name, value in headers),
    ]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), content


@contextmanager
def one_quiet_line(caplog: pytest.LogCaptureFixture, *words: str) -> Iterator[None]:
    """The block logs exactly one line about the request (INFO or WARNING, naming `words`), no ERROR, no traceback."""
    caplog.set_level(logging.INFO)
    caplog.clear()
    yield
    mine = [r for r in caplog.records if r.name.startswith("bot")]
    assert len(mine) == 1, [r.getMessage() for r in mine]
    assert mine[0].levelno in (logging.INFO, logging.WARNING) and all(w in mine[0].getMessage() for w in words)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert SECRET not in caplog.text


NOW = str(int(time.time()))
FAR_FUTURE = str(int(time.time()) + 10 * 365 * 86400)


def forged_headers(body: bytes) -> dict[str, list[Header]]:
    now = str(int(time.time()))
    ts, good = now.encode(), signature(body, now)
    return {
        "non-ascii-signature": [(b"X-Slack-Request-Timestamp", ts), (b"X-Slack-Signature", "v0=é".encode())],
        "non-utf8-signature": [(b"X-Slack-Request-Timestamp", ts), (b"X-Slack-Signature", b"v0=\xff\xfe\x80")],
        "non-ascii-signature-of-right-length": [
            (b"X-Slack-Request-Timestamp", ts),
            (b"X-Slack-Signature", good[:-2] + "é".encode()),
        ],
        "empty-headers": [(b"X-Slack-Request-Timestamp", b""), (b"X-Slack-Signature", b"")],
        "no-headers": [],
        "huge-signature": [(b"X-Slack-Request-Timestamp", ts), (b"X-Slack-Signature", b"v0=" + b"a" * 7000)],
        "huge-timestamp": [(b"X-Slack-Request-Timestamp", b"9" * 7000), (b"X-Slack-Signature", good)],
        "repeated-signature-good-first": [
            (b"X-Slack-Request-Timestamp", ts),
            (b"X-Slack-Signature", good),
            (b"X-Slack-Signature", b"v0=forged"),
        ],
        "repeated-signature-good-last": [
            (b"X-Slack-Request-Timestamp", ts),
            (b"X-Slack-Signature", b"v0=forged"),
            (b"X-Slack-Signature", good),
        ],
        "repeated-timestamp": [
            (b"X-Slack-Request-Timestamp", ts),
            (b"X-Slack-Request-Timestamp", b"1"),
            (b"X-Slack-Signature", good),
        ],
        "timestamp-not-a-number": [(b"X-Slack-Request-Timestamp", b"soon"), (b"X-Slack-Signature", good)],
        "timestamp-fullwidth-digits": [
            (b"X-Slack-Request-Timestamp", "１７".encode()),
            (b"X-Slack-Signature", signature(body, "１７")),
        ],
        "timestamp-with-exponent": [(b"X-Slack-Request-Timestamp", b"1.7e9"), (b"X-Slack-Signature", good)],
        "timestamp-far-future-signed": [
            (b"X-Slack-Request-Timestamp", FAR_FUTURE.encode()),
            (b"X-Slack-Signature", signature(body, FAR_FUTURE)),
        ],
    }


FORGERIES = list(forged_headers(b""))


@pytest.mark.parametrize("case", FORGERIES)
async def test_a_request_with_forged_or_odd_signature_headers_gets_401_and_one_log_line(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    body = bot.press_body("tenant_reset", "acme-42", "tenant_actions:acme-42").encode()
    with one_quiet_line(caplog, "refused"):
        status, answer = await raw_post(bot, forged_headers(body)[case], body)
    assert (status, json.loads(answer)) == (401, {"error": "invalid request"})
    await asyncio.sleep(0.2)
    assert bot.slack.calls == [] and bot.engine.calls == []


async def test_the_raw_request_helper_gets_a_correctly_signed_request_through(bot: Bot) -> None:
    body = bot.command_body("help").encode()
    headers = [(b"X-Slack-Request-Timestamp", NOW.encode()), (b"X-Slack-Signature", signature(body, NOW))]
    status, _ = await raw_post(bot, headers, body)
    assert status == 200
    assert len(await bot.slack.wait_for("/response/r1")) == 1


async def test_a_header_longer_than_the_http_parser_takes_is_refused_without_a_traceback(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = bot.command_body("help").encode()
    headers = [(b"X-Slack-Request-Timestamp", NOW.encode()), (b"X-Slack-Signature", b"v0=" + b"a" * 70_000)]
    status, _ = await raw_post(bot, headers, body)
    assert 400 <= status < 500
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert bot.slack.calls == []


def payload(body: dict[str, object]) -> str:
    return "payload=" + quote(json.dumps(body))


def decoded(form: str) -> dict[str, object]:
    return dict(json.loads(unquote(form.removeprefix("payload="))))


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = {"d": value}
    return value


def command(p: dict[str, object], **changes: object) -> str:
    """A slash command as JSON (Bolt takes JSON bodies too), where any field can hold any type."""
    fields = {"command": "/tenant", "text": "acme-42", "user_id": "U1", "team_id": "T1", "api_app_id": "A1"}
    return json.dumps({**fields, "response_url": p["response_url"], **changes})


def event(**changes: object) -> str:
    return json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", **changes})


# each builds a signed body from `p`, a real tenant-card press (its JSON)
MALFORMED: dict[str, Callable[[dict[str, object]], str]] = {
    "team-a-number": lambda p: payload({**p, "team": 5}),
    "team-a-list": lambda p: payload({**p, "team": ["id"]}),
    "enterprise-a-number": lambda p: payload({**p, "enterprise": 5}),
    "channel-a-number": lambda p: payload({**p, "channel": 5}),
    "authorizations-a-number": lambda p: payload({**p, "authorizations": 5}),
    "authorizations-a-string": lambda p: payload({**p, "authorizations": "T1"}),
    "authorizations-of-numbers": lambda p: payload({**p, "authorizations": [5]}),
    "user-id-a-number": lambda p: payload({**p, "user": {"id": 5}}),
    "response-urls-of-numbers": lambda p: payload({**p, "response_urls": [5]}),
    "selected-option-a-string": lambda p: payload({**p, "actions": [{"action_id": PICK, "selected_option": "1:x"}]}),
    "command-team-a-number": lambda p: command(p, team=5),
    "command-user-a-number": lambda p: command(p, user=5),
    "command-enterprise-a-list": lambda p: command(p, enterprise=["id"]),
    "event-a-number": lambda p: event(event=5),
    "event-a-string": lambda p: event(event="app_mention"),
    "event-null-in-a-shared-channel": lambda p: event(event=None, is_ext_shared_channel=True),
    "event-user-a-number": lambda p: event(event={"type": "app_mention", "user": 5}),
    "event-message-user-a-number": lambda p: event(event={"type": "message", "message": {"user": 5}}),
    "nested-beyond-what-json-reads": lambda p: "payload=" + "%5B" * 100_000,
    "nested-deeply": lambda p: payload({**p, "state": nested(200)}),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_signed_body_of_the_wrong_shape_gets_400_and_one_info_line(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    body = MALFORMED[case](decoded(bot.press_body("tenant_reset", "acme-42", "tenant_actions:acme-42")))
    with one_quiet_line(caplog, "refused"):
        status, answer, _ = await bot.exchange(body)
        await asyncio.sleep(0.2)
    assert status == 400 and json.loads(answer)["error"].startswith("could not understand this request: ")
    assert bot.slack.calls == [] and bot.engine.calls == []


def chosen(value: str) -> dict[str, object]:
    return {"type": "static_select", "selected_option": {"value": value, "text": {"type": "plain_text", "text": "x"}}}


# (action id, value, block id with {alert} for the alert's id, extra fields, what the private answer says)
ODD_CONTROLS = {
    "snooze-not-a-number": ("alert_snooze", "", "alert:{alert}:acme-42", chosen("soon"), "not a snooze"),
    "snooze-superscript-digit": ("alert_snooze", "", "alert:{alert}:acme-42", chosen("²"), "not a snooze"),
    "snooze-5000-digits": ("alert_snooze", "", "alert:{alert}:acme-42", chosen("9" * 5000), "not a snooze"),
    "pick-superscript-alert-id": (PICK, "", "b", chosen("²:acme-42"), "does not belong to an alert digest"),
    "pick-huge-alert-id": (PICK, "", "b", chosen("9" * 30 + ":acme-42"), "does not belong to an alert digest"),
    "page-superscript-number": (PAGE_PICK, "", "b", chosen("1:²"), "not a page"),
    "page-huge-digest-id": (PAGE_PICK, "", "b", chosen("9" * 30 + ":1"), "does not belong to an alert digest"),
    "reset-superscript-alert-id": ("alert_reset", "acme-42", "alert:²:acme-42", {}, "does not belong to an alert"),
}


@pytest.mark.parametrize("case", list(ODD_CONTROLS))
async def test_an_alert_control_with_an_odd_value_is_answered_privately_with_one_info_line(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    action_id, value, block, extra, says = ODD_CONTROLS[case]
    with one_quiet_line(caplog, case.split("-")[0]):
        status, _ = await bot.post(bot.press_body(action_id, value, block.format(alert=alert.id), extra=extra))
        [answer] = await bot.slack.wait_for("/response/r1")
    assert status == 200
    assert answer["response_type"] == "ephemeral" and says in answer["text"]
    assert (await bot.scanner.alerts.open_alerts())[0].snoozed_until is None


# -- a seeded fuzz over Slack's real payload shapes ------------------------------------------------------

ODD_VALUES: list[object] = [
    0, -1, 2**70, 1.5, True, None, "", "é", "²", "9" * 40, "x" * 3000, "<!channel>", "T1", "alert:1:acme-42",
    [], [1], ["id"], {}, {"id": 5}, {"id": "T2"}, {"value": 5}, nested(60),
]  # fmt: skip


def controls(alert_id: int) -> dict[str, tuple[str, str, dict[str, object]]]:
    """Every control the bot renders: action id -> (value, block id, fields of a menu choice)."""
    card, alert = "tenant_actions:acme-42", ALERT_BLOCK.format(alert_id, "acme-42")
    return {
        **{f"tenant_{a}": ("acme-42", card, {}) for a in ("reset", "retry", "cancel", "decommission", "share")},
        "alert_reset": ("acme-42", alert, {}),
        "alert_details": ("acme-42", alert, {}),
        "alert_snooze": ("", alert, chosen("3600")),
        PICK: ("", "alert_digest:1", chosen(f"{alert_id}:acme-42")),
        PAGE_PICK: ("", "alert_digest:1", chosen("1:2")),
        "not_a_control": ("x", "b", {}),
    }


def seeds(bot: Bot, alert_id: int) -> list[dict[str, object]]:
    """One realistic body per kind of request the bot gets (Slack's documented fields, Grid ones included)."""
    grid = {"enterprise": {"id": "E1", "name": "Org"}, "is_enterprise_install": False}
    authorizations = [{"enterprise_id": None, "team_id": "T1", "user_id": "UBOT", "is_bot": True}]
    message = {"type": "message", "user": "UBOT", "ts": "100.0001", "blocks": [], "team": "T1"}
    presses: list[dict[str, object]] = [
        {**decoded(bot.press_body(action, value, block, extra=extra)), **grid, "message": message}
        for action, (value, block, extra) in controls(alert_id).items()
    ]
    command: dict[str, object] = {
        **dict(parse_qsl(bot.command_body("acme-42"))),
        "enterprise_id": "E1",
        "is_enterprise_install": "false",
    }
    event = {
        "type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event_time": 1,
        "event": {"type": "app_mention", "user": "U1", "text": "hi", "ts": "1.2", "channel": "C1", "team": "T1"},
        "authorizations": authorizations, "is_ext_shared_channel": False,
    }  # fmt: skip
    return [command, *presses, event]


def mutated(seed: dict[str, object], rng: random.Random) -> dict[str, object]:
    """`seed` with one to three fields replaced by odd values, removed, or given odd siblings."""
    body = json.loads(json.dumps(seed))
    for _ in range(rng.randint(1, 3)):
        holders: list[dict[str, Any] | list[Any]] = [body]
        for holder in holders:
            inner = holder.values() if isinstance(holder, dict) else holder
            holders.extend(v for v in inner if isinstance(v, dict | list))
        holder = rng.choice(holders)
        if isinstance(holder, list):
            holder.append(odd(rng)) if not holder else holder.__setitem__(rng.randrange(len(holder)), odd(rng))
            continue
        key = rng.choice([*holder, "type", "team", "event", "selected_option"])
        if rng.random() < 0.15:
            holder.pop(key, None)
        else:
            holder[key] = odd(rng)
    return body


def listener(task: asyncio.Task[object]) -> bool:
    """A task still working on an answer: not this test, nor a connection kept alive waiting for its next
    request (the stand-in's end of the app's one response_url session, bot/response_urls.py)."""
    return task is not asyncio.current_task() and task.get_coro().__qualname__ != "RequestHandler.start"  # type: ignore[union-attr]


def odd(rng: random.Random) -> object:
    return copy.deepcopy(rng.choice(ODD_VALUES))


def encoded(body: dict[str, object], rng: random.Random) -> str:
    if "command" in body and all(isinstance(v, str) for v in body.values()) and rng.random() < 0.7:
        return urlencode(body)  # as Slack sends a command
    if "command" in body or body.get("type") == "event_callback":
        return json.dumps(body)
    return payload(body)


async def test_hundreds_of_mutated_slack_payloads_never_get_a_5xx_or_an_error_line(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    rng = random.Random(int(os.environ.get("FUZZ_SEED", "8")))
    before = asyncio.all_tasks()
    statuses = []
    assert alert.id is not None
    for i, seed in enumerate(seeds(bot, alert.id) * 25):
        body = mutated({**seed, "response_url": bot.slack.response_url(f"f{i}")}, rng)
        status, answer, _ = await bot.exchange(encoded(body, rng))
        assert status < 500, (body, answer)
        statuses.append(status)
    await bot.session.close()  # the server's connection tasks end; what is left is listeners still answering
    for _ in range(200):
        if not (answering := [t for t in asyncio.all_tasks() - before if listener(t)]):
            break
        await asyncio.sleep(0.05)
    assert not answering
    assert not [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert {200, 400} <= set(statuses)  # the mutants reached the listeners as well as the shape check
