"""A press that ran is always answered with what was done, whatever fails afterwards: malformed payload
fields, a card that cannot be built, a response_url that fails or hangs. The presser hears it through
whatever still works (the response_url, else chat.postEphemeral), and the action ran once. Reset, Cancel
and Decommission answer once their preview is submitted, through the response_url of the press that
opened it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.blocks import card
from bot.blocks.alert import ALERT_BLOCK
from core.authz import AllowList, Policy
from core.decisions import Situation
from core.domain import Action
from tests.e2e.conftest import Bot, running_bot
from tests.e2e.situations import make

CARD = "tenant_actions:acme-42"
EVERYONE = Policy({a: AllowList(everyone=True) for a in Action})
MALFORMED: dict[str, dict[str, Any]] = {
    "container-a-string": {"container": "message"},
    "container-a-number": {"container": 42},
    "container-a-list": {"container": [{"is_ephemeral": True}]},
    "is_ephemeral-a-string": {"container": {"type": "message", "channel_id": "C1", "is_ephemeral": "false"}},
    "channel-a-string": {"channel": "C1"},
    "message-a-number": {"message": 7},
}
DEAD_URL: dict[str, list[tuple[int, str]]] = {
    "500": [(500, "internal_error")] * 5,
    "404": [(404, "expired_url")] * 5,
}


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


async def ran(bot: Bot, kind: str) -> int:
    return [e.type for e in await bot.store.events("acme-42", 50)].count(f"tenant.provisioning.{kind}")


@pytest.mark.parametrize("fields", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_reset_pressed_with_a_malformed_payload_runs_once_and_says_it_was_done(
    bot: Bot, fields: dict[str, Any]
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.act("tenant_reset", fields=fields)
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "done — reset" in shown(answer) and "nothing was changed" not in shown(answer)
    assert await ran(bot, "reset_completed") == 1


@pytest.mark.parametrize(
    ("action_id", "situation", "said", "event"),
    [
        ("tenant_retry", Situation.FAILED_CLEANLY, "done — retried", "retry_started"),
        ("tenant_cancel", Situation.MAKING_PROGRESS, "done — cancel requested", "cancel_started"),
        ("tenant_decommission", Situation.FAILED_CLEANLY, "done — Decommission of acme-42", "decommission_requested"),
    ],
    ids=["retry", "cancel", "decommission"],
)
async def test_every_action_pressed_with_a_container_that_is_not_an_object_says_what_was_done(
    tmp_path: Path, action_id: str, situation: Situation, said: str, event: str
) -> None:
    async with running_bot(tmp_path, policy=EVERYONE) as bot:
        await make(bot.store, bot.engine, "acme-42", situation)
        await bot.act(action_id, fields={"container": "message"})
        [answer] = await bot.slack.wait_for("/response/r1")
        assert said in shown(answer) and "nothing was changed" not in shown(answer)
        assert await ran(bot, event) == 1


async def test_a_refusal_on_a_card_whose_is_ephemeral_is_not_a_bool_leaves_the_card_as_if_shared(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.MAKING_PROGRESS)
    odd = {"container": {"type": "message", "channel_id": "C1", "is_ephemeral": "yes"}}
    await bot.act("tenant_reset", fields=odd)
    [reply] = await bot.slack.wait_for("/response/r1")
    assert reply["replace_original"] is False and reply["response_type"] == "ephemeral" and "blocks" not in reply
    assert "refused — Reset is not allowed now" in reply["text"]


async def test_a_card_that_cannot_be_built_after_a_reset_says_the_reset_was_done(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> list[object]:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(card, "tenant_card", broken)
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.act("tenant_reset", user="U9")
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "<@U9> pressed *Reset*" in answer["text"] and "done — reset" in answer["text"]
    assert "card could not be updated" in answer["text"] and "nothing was changed" not in answer["text"]
    assert answer["replace_original"] is False and answer["response_type"] == "ephemeral"
    assert await ran(bot, "reset_completed") == 1


@pytest.mark.parametrize("failures", DEAD_URL.values(), ids=DEAD_URL.keys())
async def test_a_reset_whose_response_url_fails_is_told_privately_in_the_channel(
    bot: Bot, failures: list[tuple[int, str]]
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    bot.slack.response_failures["r1"] = list(failures)
    await bot.act("tenant_reset", fields={"container": 42})
    [told] = await bot.slack.wait_for("/api/chat.postEphemeral")
    assert told["channel"] == "C1" and told["user"] == "U1"
    assert "done — reset" in told["text"] and "card could not be updated" in told["text"]
    assert await ran(bot, "reset_completed") == 1


async def test_a_reset_whose_response_url_never_answers_is_told_within_seconds(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.answer.RESPOND_SECONDS", 0.5)
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    bot.slack.response_delays["r1"] = 1.5
    await bot.act("tenant_reset")
    [told] = await bot.slack.wait_for("/api/chat.postEphemeral", timeout=1.2)
    assert "done — reset" in told["text"] and "no answer within 0.5 s" in told["text"]
    assert len(bot.slack.arrivals("/response/r1")) <= 1  # a silent response_url is not tried again
    assert await ran(bot, "reset_completed") == 1


async def test_a_reset_from_an_alert_whose_response_url_fails_is_told_privately(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    bot.slack.response_failures["r1"] = [(500, "internal_error")] * 5
    await bot.act("alert_reset", block=ALERT_BLOCK.format(alert.id, "acme-42"), user="U4")
    [told] = await bot.slack.wait_for("/api/chat.postEphemeral")
    assert told["user"] == "U4" and "done — reset" in told["text"]
    assert await ran(bot, "reset_completed") == 1


async def test_when_no_way_to_the_presser_works_the_log_says_what_was_done(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    bot.slack.response_failures["r1"] = [(500, "internal_error")] * 5
    bot.slack.fail("chat.postEphemeral", (500, {}))
    await bot.act("tenant_reset")

    def logged() -> bool:
        return any("done — reset" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")

    for _ in range(100):
        if logged():
            break
        await asyncio.sleep(0.02)
    assert logged() and len(bot.slack.arrivals("/api/chat.postEphemeral")) == 1
    assert await ran(bot, "reset_completed") == 1
