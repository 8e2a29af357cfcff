"""`/tenant` over signed HTTP: usage, the card for every situation, bad input, forged requests, hangs."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from core.decisions import TABLE, Situation
from core.domain import AuditEvent
from tests.e2e.conftest import Bot, start_bot, stop_bot
from tests.e2e.situations import RECIPES, make
from tests.fakes import InMemoryStore


def buttons(message: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    return {e["action_id"]: e for a in actions for e in a["elements"]}


def assert_valid_blocks(message: dict) -> None:  # type: ignore[type-arg]
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


@pytest.mark.parametrize("situation", list(RECIPES), ids=[s.key for s in RECIPES])
async def test_the_card_shows_the_situation_and_exactly_the_allowed_buttons(bot: Bot, situation: Situation) -> None:
    await make(bot.store, bot.engine, "acme-42", situation)
    status, elapsed = await bot.post(bot.command_body("acme-42"))
    assert status == 200 and elapsed < 3
    [card] = await bot.slack.wait_for("/response/r1")
    assert_valid_blocks(card)
    row = next(r for r in TABLE if r.situation is situation)
    shown = buttons(card)
    assert {a for a in shown if a != "tenant_share"} == {f"tenant_{a.value}" for a in row.allowed}
    assert card["blocks"][0]["text"]["text"].startswith("acme-42 · ")
    assert str(situation).capitalize() in str(card["blocks"])
    primary = [a for a, e in shown.items() if e.get("style") == "primary"]
    expected = row.recommended.next_action
    assert primary == ([f"tenant_{expected.value}"] if expected in row.allowed else [])
    for action_id in ("tenant_reset", "tenant_cancel", "tenant_decommission"):
        if action_id in shown:
            assert "confirm" in shown[action_id]
    if "tenant_reset" in shown:
        assert "terminate" in shown["tenant_reset"]["confirm"]["text"]["text"]
        assert "keeps every allocation" in shown["tenant_reset"]["confirm"]["text"]["text"]


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
    await asyncio.sleep(0.3)
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
    bot, runner, opened = await start_bot(tmp_path, store=store)
    try:
        status, elapsed = await bot.post(bot.command_body("acme-42"))
        assert status == 200 and elapsed < 3
        [reply] = await bot.slack.wait_for("/response/r1", timeout=5)
        assert "database is unavailable" in reply["text"] and "Traceback" not in reply["text"]
    finally:
        await stop_bot(bot, runner, opened)
