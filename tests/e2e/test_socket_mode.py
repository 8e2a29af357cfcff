"""Socket Mode: the same app, connected out to a stand-in for Slack's websocket, acks an envelope and answers."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

import pytest

from bot.app import create_app
from bot.socket import connect_socket_mode
from core.decisions import Situation
from tests.e2e.conftest import SECRET, Bot
from tests.e2e.situations import make


async def test_a_slash_command_over_socket_mode_is_acked_and_answered(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    payload = dict(parse_qsl(bot.command_body("acme-42", response="socket")))
    bot.slack.envelopes.append(
        {"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True, "payload": payload}
    )
    app = create_app(signing_secret=SECRET, client=bot.client, installation=bot.app.installation, deps=bot.deps)
    handler = await connect_socket_mode(app, "xapp-e2e")
    try:
        [ack] = await bot.slack.wait_for("/socket/ack")
        assert ack["envelope_id"] == "env-1"
        [card] = await bot.slack.wait_for("/response/socket")
        assert card["blocks"][0]["text"]["text"] == "acme-42 · provisioning"
        assert "tenant_reset" in str(card["blocks"])
    finally:
        await handler.close_async()
        await app.close()


async def test_a_socket_mode_request_from_another_workspace_is_refused_by_the_same_check(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    for envelope, team in (("env-foreign", "T2"), ("env-ours", "T1")):
        payload = {**dict(parse_qsl(bot.command_body("acme-42", response=envelope))), "team_id": team}
        bot.slack.envelopes.append(
            {"envelope_id": envelope, "type": "slash_commands", "accepts_response_payload": True, "payload": payload}
        )
    app = create_app(signing_secret=SECRET, client=bot.client, installation=bot.app.installation, deps=bot.deps)
    handler = await connect_socket_mode(app, "xapp-e2e")
    try:
        assert len(await bot.slack.wait_for("/response/env-ours")) == 1
        await asyncio.sleep(0.2)
    finally:
        await handler.close_async()
        await app.close()
    assert [a["envelope_id"] for a in bot.slack.sent("/socket/ack")] == ["env-ours"]  # the foreign one: no answer
    assert bot.slack.sent("/response/env-foreign") == []
    assert any("workspace 'T2'" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
