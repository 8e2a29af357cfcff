""" "Open in Temporal" over signed HTTP: the card and the alert link to the tenant's run, and pressing the
link (Slack still sends the press) is acked and answered with nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from core.decisions import Situation
from core.domain import RunHandle
from core.run_links import RunLinks
from tests.e2e.conftest import running_bot
from tests.e2e.situations import make

LINKS = RunLinks("https://temporal.example.com", "prod")
HANDLE = RunHandle("provision-acme-42-1", 1, "run-7")
URL = "https://temporal.example.com/namespaces/prod/workflows/provision-acme-42-1/run-7/history"


def links_in(message: dict[str, Any]) -> list[str]:
    return [e["url"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if "url" in e]


async def test_the_card_and_the_alert_link_to_the_run_and_a_press_of_the_link_is_only_acked(tmp_path: Path) -> None:
    async with running_bot(tmp_path, links=LINKS) as bot:
        await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS, handle=HANDLE)
        await make(bot.store, bot.engine, "new-1", Situation.PENDING_CLEAN)  # no run yet: no link
        await bot.post(bot.command_body("acme-42"))
        await bot.post(bot.command_body("new-1", response="new"))
        [card] = await bot.slack.wait_for("/response/r1")
        [unstarted] = await bot.slack.wait_for("/response/new")
        assert links_in(card) == [URL] and links_in(unstarted) == []
        await bot.scanner.tick()
        [alert] = bot.slack.sent("/api/chat.postMessage")
        assert links_in(alert) == [URL]
        status, _ = await bot.post(bot.press_body("open_in_temporal", "", "tenant_actions:acme-42", response="link"))
        assert status == 200
        await asyncio.sleep(0.3)
        assert bot.slack.sent("/response/link", ok_only=False) == []  # not "tenantbot does not know this button"
