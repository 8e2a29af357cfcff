"""`/tenant <id> history` over signed HTTP: the whole feed, newest first, paged with Newer and Older past
100 events on SQLite and PostgreSQL, every page a message Slack takes, altered buttons refused."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.domain import AuditEvent, Tenant, TenantState
from core.persistence import SqlTenantStore
from core.ports import TenantStore
from tests.e2e.conftest import Bot, running_bot
from tests.e2e.test_tenant_command import SPOOF, assert_valid_blocks, buttons, no_raw_markup

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
STEP = re.compile(r"`step_(\d{3})`")


async def a_tenant_with_events(store: TenantStore, count: int, **details: Any) -> None:
    await store.add(Tenant("acme-42", TenantState.PROVISIONING, T0), [])
    await store.append(
        [
            AuditEvent("acme-42", f"tenant.provisioning.step_{i:03d}", "U1", T0 + timedelta(seconds=i), dict(details))
            for i in range(count)
        ]
    )


def steps(page: dict[str, Any]) -> list[int]:
    return [int(n) for n in STEP.findall(json.dumps(page["blocks"]))]


async def turn(bot: Bot, page: dict[str, Any], which: str, name: str) -> dict[str, Any]:
    """Press Newer or Older on `page`; the page that replaces it."""
    button = buttons(page)[f"history_{which}"]
    [block] = [b["block_id"] for b in page["blocks"] if b["type"] == "actions"]
    status, _ = await bot.post(bot.press_body(button["action_id"], button["value"], block, response=name))
    assert status == 200
    [answer] = await bot.slack.wait_for(f"/response/{name}")
    assert answer["replace_original"] is True and answer["response_type"] == "ephemeral"
    assert_valid_blocks(answer)
    return answer


async def test_history_pages_through_130_events_newest_first_and_back(tmp_path: Path, store: SqlTenantStore) -> None:
    await a_tenant_with_events(store, 130, reason="quota", request="U1:1733.5:reset:acme-42")
    async with running_bot(tmp_path, store=store) as bot:
        await bot.post(bot.command_body("acme-42 history", response="p0"))
        [first] = await bot.slack.wait_for("/response/p0")
        assert_valid_blocks(first)
        assert first["response_type"] == "ephemeral" and set(buttons(first)) == {"history_older"}
        assert "reason: quota, request: U1:1733.5:reset:acme-42" in json.dumps(first["blocks"])
        pages = [first]
        while "history_older" in buttons(pages[-1]):
            pages.append(await turn(bot, pages[-1], "older", f"p{len(pages)}"))
        assert [steps(p) for p in pages] == [list(range(i, max(i - 20, -1), -1)) for i in range(129, -1, -20)]
        assert set(buttons(pages[-1])) == {"history_newer"}  # the oldest page: nothing older
        back = await turn(bot, pages[-1], "newer", "back")
        assert steps(back) == steps(pages[-2]) and set(buttons(back)) == {"history_newer", "history_older"}


@pytest.mark.parametrize(
    ("value", "block"),
    [
        ("acme-42:1763629200000000.5", "history:other-1"),  # a page of another tenant's history
        ("other-1:1763629200000000.5", "history:acme-42"),
        ("acme-42:yesterday", "history:acme-42"),
        ("acme-42:1763629200000000.5.6", "history:acme-42"),
        ("ACME 42!:1763629200000000.5", "history:acme-42"),
    ],
)
async def test_an_altered_history_button_is_answered_privately_and_reads_nothing(
    bot: Bot, value: str, block: str
) -> None:
    await a_tenant_with_events(bot.store, 30)
    status, _ = await bot.post(bot.press_body("history_older", value, block))
    assert status == 200
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "history button was altered" in answer["text"] and answer["response_type"] == "ephemeral"
    assert "blocks" not in answer


async def test_details_are_escaped_and_a_page_of_huge_ones_still_fits_one_message(bot: Bot) -> None:
    await a_tenant_with_events(bot.store, 25, reason=SPOOF, cause="<!here> " + "x" * 5000, run={"id": "<@U9>"})
    await bot.post(bot.command_body("acme-42 history"))
    [page] = await bot.slack.wait_for("/response/r1")  # the stand-in refuses what Slack would refuse
    assert_valid_blocks(page)
    no_raw_markup(page)
    assert "<!here>" not in json.dumps(page) and "<@U9>" not in json.dumps(page)
    assert steps(page) == list(range(24, 4, -1)) and "…" in json.dumps(page["blocks"], ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("nobody-here history", "No tenant `nobody-here`"),
        ("acme-42 hist", "is not a tenant id"),
        ("ACME 42! history", "is not a tenant id"),
    ],
)
async def test_history_of_an_unknown_or_malformed_tenant_is_one_private_line(bot: Bot, text: str, said: str) -> None:
    await bot.post(bot.command_body(text))
    [reply] = await bot.slack.wait_for("/response/r1")
    assert said in reply["text"] and reply["response_type"] == "ephemeral" and "blocks" not in reply


async def test_a_tenant_without_events_has_an_empty_history_and_help_mentions_it(bot: Bot) -> None:
    await bot.store.add(Tenant("quiet", TenantState.PENDING, T0), [])
    await bot.post(bot.command_body("QUIET History"))
    await bot.post(bot.command_body("help", response="help"))
    [empty] = await bot.slack.wait_for("/response/r1")
    [usage] = await bot.slack.wait_for("/response/help")
    assert "No events recorded" in json.dumps(empty["blocks"]) and "history_older" not in buttons(empty)
    assert "/tenant <tenant-id> history" in usage["text"]
