"""`/tenant` over signed HTTP: usage, the card for every situation, bad input, forged requests, hangs."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from slack_sdk.models.blocks import Block

from core.decisions import TABLE, Situation
from core.domain import Action, AuditEvent
from core.persistence import open_database
from core.turns import AT_ONCE
from tests.conftest import SilentPostgres
from tests.e2e.conftest import Bot, running_bot
from tests.e2e.situations import make, recipes
from tests.fakes import InMemoryStore


def buttons(message: dict) -> dict[str, dict]:
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    return {e["action_id"]: e for a in actions for e in a["elements"]}


def assert_valid_blocks(message: dict) -> None:
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.to_dict()  # raises SlackObjectFormationError on any Block Kit limit


async def test_help_and_empty_text_show_usage(bot: Bot) -> None:
    for text in ("", "help"):
        status, _ = await bot.post(bot.command_body(text, response=f"help{text}"))
        assert status == 200
        [reply] = await bot.slack.wait_for(f"/response/help{text}")
        assert "/tenant <tenant-id>" in reply["text"] and reply["response_type"] == "ephemeral"


async def test_a_command_whose_form_mentions_payload_is_still_a_command(bot: Bot) -> None:
    """Bolt's parser takes any form body containing "payload" for an interaction; here it stays a command."""
    await make(bot.store, bot.engine, "payload-svc", Situation.WEDGED_ORPHANED)
    status, _ = await bot.post(bot.command_body("payload-svc").replace("channel_name=ops", "channel_name=payloads"))
    assert status == 200
    [card] = await bot.slack.wait_for("/response/r1")
    assert card["blocks"][0]["text"]["text"] == "payload-svc · provisioning"


@pytest.mark.parametrize("situation", list(recipes()), ids=[s.key for s in recipes()])
async def test_the_card_shows_the_situation_and_exactly_the_allowed_buttons(bot: Bot, situation: Situation) -> None:
    await make(bot.store, bot.engine, "acme-42", situation)
    status, elapsed = await bot.post(bot.command_body("acme-42"))
    assert status == 200 and elapsed < 3
    [card] = await bot.slack.wait_for("/response/r1")
    assert_valid_blocks(card)
    row = next(r for r in TABLE if r.situation is situation)
    shown = buttons(card)
    offered = [a for a in row.allowed if a is not Action.DECOMMISSION]  # nobody may Decommission by default
    assert {a for a in shown if a != "tenant_share"} == {f"tenant_{a.value}" for a in offered}
    assert card["blocks"][0]["text"]["text"].startswith("acme-42 · ")
    assert str(situation).capitalize() in str(card["blocks"])
    primary = [a for a, e in shown.items() if e.get("style") == "primary"]
    expected = row.recommended.next_action
    assert primary == ([f"tenant_{expected.value}"] if expected in offered else [])
    for action_id in (a for a in shown if a != "tenant_share"):  # each says what the card shows
        tenant, attempt, workflow, _run, key, _at = shown[action_id]["value"].split("|")
        named = "-" if recipes()[situation][0].get("handle", True) is None else "provision-acme-42-1"
        assert (tenant, attempt, workflow, key) == ("acme-42", "1", named, situation.key)
        assert "confirm" not in shown[action_id]  # a preview with a reason instead of a fixed dialog


async def test_a_long_error_and_many_events_still_make_a_valid_message(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ERROR, error="x" * 3000)
    events = [AuditEvent("acme-42", f"tenant.provisioning.step_{i}", "U1", bot.service.clock()) for i in range(60)]
    await bot.store.append(events)
    await bot.post(bot.command_body("acme-42"))
    [card] = await bot.slack.wait_for("/response/r1")
    assert_valid_blocks(card)
    assert "…" in str(card["blocks"])


@pytest.mark.parametrize(
    ("text", "answer"), [("ACME 42!", "is not a tenant id"), ("nobody-here", "No tenant `nobody-here`")]
)
async def test_bad_or_unknown_ids_get_a_short_ephemeral_answer(bot: Bot, text: str, answer: str) -> None:
    await bot.post(bot.command_body(text))
    [reply] = await bot.slack.wait_for("/response/r1")
    assert answer in reply["text"] and reply["response_type"] == "ephemeral" and "blocks" not in reply


async def test_stuck_lists_the_wedged_tenants(bot: Bot) -> None:
    await make(bot.store, bot.engine, "stuck-1", Situation.WEDGED_NO_PROGRESS)
    await make(bot.store, bot.engine, "fine-1", Situation.MAKING_PROGRESS)
    await bot.post(bot.command_body("stuck"))
    [reply] = await bot.slack.wait_for("/response/r1")
    assert_valid_blocks(reply)
    assert "stuck-1" in str(reply["blocks"]) and "fine-1" not in str(reply["blocks"])


@pytest.mark.parametrize(
    ("secret", "age"), [("forged-secret", 0), ("e2e-signing-secret", 301)], ids=["forged-signature", "stale-timestamp"]
)
async def test_forged_or_stale_requests_get_401_and_change_nothing(bot: Bot, secret: str, age: int) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    body = bot.press_body("tenant_reset", "acme-42", "tenant_actions:acme-42")
    status, _ = await bot.post(body, secret=secret, timestamp=int(time.time()) - age)
    assert status == 401
    await asyncio.sleep(0.5)
    assert bot.slack.calls == [] and bot.engine.calls == []
    assert [e.type for e in await bot.store.events("acme-42", 5)] == []


async def test_a_hung_engine_is_acked_at_once_and_answered_with_a_degraded_card(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    bot.engine.delay = 10
    status, elapsed = await bot.post(bot.command_body("acme-42"))
    assert status == 200 and elapsed < 3
    [card] = await bot.slack.wait_for("/response/r1", timeout=5)
    assert "could not read engine: no answer within 1 s" in str(card["blocks"])
    assert {a for a in buttons(card) if a != "tenant_share"} == set()


async def test_a_hung_database_is_acked_at_once_and_answered_plainly(tmp_path: Path) -> None:
    store = InMemoryStore()
    store.delay = timedelta(seconds=10).total_seconds()
    async with running_bot(tmp_path, store=store) as bot:
        status, elapsed = await bot.post(bot.command_body("acme-42"))
        assert status == 200 and elapsed < 3
        [reply] = await bot.slack.wait_for("/response/r1", timeout=5)
        assert "database is unavailable" in reply["text"] and "Traceback" not in reply["text"]


SPOOF = "<!channel> see <https://evil.example|runbook> a<b & more"


def no_raw_markup(message: dict) -> None:
    shown = json.dumps(message)
    assert "<!channel>" not in shown and "<https://evil.example" not in shown and "a<b" not in shown


@pytest.mark.parametrize("hang", ["database", "engine"])
async def test_stuck_answers_within_seconds_when_the_database_or_the_engine_hangs(tmp_path: Path, hang: str) -> None:
    store = InMemoryStore()
    async with running_bot(tmp_path, store=store) as bot:
        await make(bot.store, bot.engine, "stuck-1", Situation.WEDGED_NO_PROGRESS)
        if hang == "database":
            store.delay = 30
        else:
            bot.engine.delay = 30
        started = time.monotonic()
        status, _ = await bot.post(bot.command_body("stuck"))
        [reply] = await bot.slack.wait_for("/response/r1", timeout=8)
        assert status == 200 and time.monotonic() - started < 5
        named = "The database is unavailable" if hang == "database" else "The workflow engine is unavailable"
        assert named in reply["text"] and "no answer within 1 s" in reply["text"]


@pytest.mark.postgres
async def test_a_card_is_answered_within_read_timeout_when_postgresql_goes_silent(
    tmp_path: Path, silent_postgres: SilentPostgres
) -> None:
    database = await open_database(silent_postgres.url)
    try:
        async with running_bot(tmp_path, store=database.tenants, read_timeout=1.0) as bot:
            await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
            await bot.post(bot.command_body("acme-42", response="before"))
            await bot.slack.wait_for("/response/before")  # the pool holds an established connection
            silent_postgres.proxy.silent = True
            started = time.monotonic()
            status, _ = await bot.post(bot.command_body("acme-42"))
            [reply] = await bot.slack.wait_for("/response/r1", timeout=15)
            elapsed = time.monotonic() - started
    finally:
        await silent_postgres.proxy.stop()
        await database.close()
    assert status == 200 and elapsed < 1.5  # READ_TIMEOUT (1 s) + HTTP and scheduling
    assert "The database is unavailable" in reply["text"] and "no answer within 1 s" in reply["text"]


async def test_stuck_with_45_tenants_and_long_errors_fits_one_message(bot: Bot) -> None:
    for i in range(45):
        await make(bot.store, bot.engine, f"stuck-{i:02d}", Situation.WEDGED_ERROR, error=f"E{i} " + "x" * 3000)
    await bot.post(bot.command_body("stuck"))
    [reply] = await bot.slack.wait_for("/response/r1")  # the stand-in refuses what Slack would refuse
    assert_valid_blocks(reply)
    assert "45 wedged tenants" in str(reply["blocks"][0])
    shown = sum(1 for b in reply["blocks"] if "`/tenant stuck-" in json.dumps(b))
    assert 1 <= shown < 45 and f"and {45 - shown} more" in json.dumps(reply["blocks"])


async def test_data_is_escaped_so_it_cannot_ping_or_link(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ERROR, error=SPOOF, current_step="<!here>")
    await bot.post(bot.command_body("acme-42"))
    await bot.post(bot.command_body("stuck", response="list"))
    [card] = await bot.slack.wait_for("/response/r1")
    [listed] = await bot.slack.wait_for("/response/list")
    for message in (card, listed):
        no_raw_markup(message)
        assert "&lt;!channel&gt;" in json.dumps(message)
    assert "<!here>" not in json.dumps(card)


async def test_a_long_error_keeps_its_code_block_closed(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ERROR, error="y" * 5000)
    await bot.post(bot.command_body("acme-42"))
    [card] = await bot.slack.wait_for("/response/r1")
    [error] = [b["text"]["text"] for b in card["blocks"] if b.get("text", {}).get("text", "").startswith("*Error*")]
    assert error.endswith("…```") and error.count("```") == 2


async def test_a_card_with_everything_long_fits_slacks_message_size(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ERROR, error="<&>" * 1000, current_step="s" * 500)
    actor = "workflow:" + "w" * 300
    events = [AuditEvent("acme-42", "tenant.provisioning." + "e" * 200, actor, bot.service.clock()) for _ in range(8)]
    await bot.store.append(events)
    await bot.post(bot.command_body("acme-42"))
    [card] = await bot.slack.wait_for("/response/r1")
    assert_valid_blocks(card)
    assert len(json.dumps(card["blocks"], ensure_ascii=False)) <= 11_000


async def test_allocations_that_could_not_be_read_are_unknown_not_none(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)

    async def hang(tenant_id: str) -> list:
        await asyncio.sleep(30)
        return []

    bot.store.allocations = hang  # type: ignore[method-assign]
    bot.store.reads_records_together = False  # the card's parts read one by one (one read: all or nothing)
    await bot.post(bot.command_body("acme-42"))
    [card] = await bot.slack.wait_for("/response/r1", timeout=5)
    shown = json.dumps(card["blocks"])
    assert "*Allocations*\\nunknown (could not read)" in shown and "*Allocations*\\nnone" not in shown


async def test_typos_are_logged_at_info_without_a_traceback(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await bot.post(bot.command_body("ACME 42!"))
    await bot.slack.wait_for("/response/r1")
    mine = [r for r in caplog.records if r.name.startswith("bot.")]
    assert mine and all(r.levelno <= logging.INFO and r.exc_info is None for r in mine)


async def test_a_redelivered_command_is_answered_once(bot: Bot) -> None:
    body = bot.command_body("help")
    await bot.post(body)
    await bot.slack.wait_for("/response/r1")
    status, _ = await bot.post(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    await asyncio.sleep(0.5)
    assert status == 200 and len(bot.slack.sent("/response/r1")) == 1


async def test_a_redelivery_whose_first_delivery_never_arrived_is_answered(bot: Bot) -> None:
    body = bot.command_body("help")
    status, _ = await bot.post(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert status == 200 and len(await bot.slack.wait_for("/response/r1")) == 1


async def test_an_answer_slack_refuses_is_logged_and_replaced_by_a_short_one(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    bot.slack.response_failures["r1"] = [(400, "invalid_blocks")]
    await bot.post(bot.command_body("acme-42"))
    [fallback] = await bot.slack.wait_for("/response/r1")
    assert "blocks" not in fallback and "acme-42" in fallback["text"] and fallback["response_type"] == "ephemeral"
    assert any("invalid_blocks" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


@pytest.mark.parametrize(
    ("body", "signed", "expected"),
    [
        ("payload=notjson", False, 401),
        ("payload=notjson", True, 400),
        ("payload=" + quote(json.dumps({"type": "block_actions", "actions": []})), True, 400),
        ("payload=" + quote(json.dumps([1, 2])), True, 400),
        ("command=%2Ftenant", True, 400),
    ],
    ids=["unsigned-garbage", "signed-not-json", "signed-no-actions", "signed-not-an-object", "signed-no-user"],
)
async def test_malformed_bodies_get_401_or_400_and_no_traceback(
    bot: Bot, caplog: pytest.LogCaptureFixture, body: str, signed: bool, expected: int
) -> None:
    status, _ = await bot.post(body, secret="e2e-signing-secret" if signed else "wrong")
    assert status == expected
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_redelivery_of_a_request_that_was_not_answered_is_handled_again(bot: Bot) -> None:
    body = bot.command_body("help").replace("%2Ftenant", "%2Fother")  # no listener: the first gets no 200
    first, _ = await bot.post(body)
    again, _ = await bot.post(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    assert first == again == 404  # handled (and unmatched) again, not acked and dropped as a duplicate


async def test_a_burst_of_commands_on_a_slow_engine_is_acked_at_once_and_not_answered_a_turn_at_a_time(
    bot: Bot,
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.MAKING_PROGRESS)
    bot.engine.delay = 1.0  # every describe takes a second
    bodies = [bot.command_body("acme-42", user=f"U{n}", response=f"r{n}") for n in range(AT_ONCE + 4)]
    started = time.monotonic()
    acks = await asyncio.gather(*(bot.post(body) for body in bodies))
    assert [status for status, _ in acks] == [200] * len(bodies)
    assert max(elapsed for _, elapsed in acks) < 1.0  # none waited for a card
    assert len(await bot.slack.wait_for("/response/r", count=len(bodies))) == len(bodies)
    # the last four took turns given up by answers waiting on the engine, not once those were done
    assert time.monotonic() - started < 2 * bot.engine.delay
