"""Slack's Retry-After, honoured for every call: after a 429 no call of that method (to that channel)
reaches the stand-in before the wait has passed, however many 429s come in a row, and the alert is
posted once in the end — not lost, not doubled."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from core.authz import AllowList, Policy
from core.decisions import Situation
from core.domain import Action
from tests.e2e.conftest import DEFAULT_POLICY, Bot, running_bot
from tests.e2e.situations import make
from tests.e2e.slack_stub import Call

ADMINS = Policy({**DEFAULT_POLICY.allowed, Action.DECOMMISSION: AllowList.parse("S0ADMINS")})


def too_early(calls: list[Call]) -> list[tuple[float, float]]:
    """(seconds after a 429, its Retry-After) for every call that arrived before the wait had passed."""
    early = []
    for i, limited in enumerate(calls):
        if limited.retry_after is None:
            continue
        same_place = [c for c in calls[i + 1 :] if c.body.get("channel") == limited.body.get("channel")]
        early += [
            (c.at - limited.at, limited.retry_after) for c in same_place if c.at - limited.at < limited.retry_after
        ]
    return early


def posted_tenants(bot: Bot) -> list[str]:
    return sorted(t for m in bot.slack.sent("/api/chat.postMessage") for t in ("t-1", "t-2") if t in m["text"])


async def test_three_429s_in_a_row_hold_every_post_back_until_each_retry_after_has_passed(bot: Bot) -> None:
    for tenant in ("t-1", "t-2"):
        await make(bot.store, bot.engine, tenant, Situation.WEDGED_ORPHANED)
    bot.slack.rate_limit("chat.postMessage", 3, retry_after=1)
    started = time.monotonic()
    report = await bot.scanner.tick()
    assert too_early(bot.slack.arrivals("/api/chat.postMessage")) == []
    assert report.posted == 2 and report.unposted == 0 and time.monotonic() - started >= 3
    assert posted_tenants(bot) == ["t-1", "t-2"]  # each once
    await bot.scanner.tick()
    assert posted_tenants(bot) == ["t-1", "t-2"]


async def test_a_retry_after_longer_than_a_tick_waits_keeps_the_alert_pending_and_slack_uncalled(bot: Bot) -> None:
    bot.scanner.notifier.max_wait = 0.5  # type: ignore[attr-defined]
    await make(bot.store, bot.engine, "t-1", Situation.WEDGED_ORPHANED)
    bot.slack.rate_limit("chat.postMessage", 2, retry_after=2)
    first = await bot.scanner.tick()
    second = await bot.scanner.tick()  # at once: the pause has not passed
    assert first.unposted == 1 and second.unposted == 1
    assert len(bot.slack.arrivals("/api/chat.postMessage")) == 1
    await asyncio.sleep(2)
    third = await bot.scanner.tick()  # the second 429: another 2 s
    await asyncio.sleep(2)
    fourth = await bot.scanner.tick()
    assert third.unposted == 1 and fourth.posted == 1
    assert too_early(bot.slack.arrivals("/api/chat.postMessage")) == []
    assert posted_tenants(bot) == ["t-1"] and len(bot.slack.arrivals("/api/chat.postMessage")) == 3


async def test_a_429_on_a_group_lookup_pauses_later_lookups_and_the_press_says_try_again(tmp_path: Path) -> None:
    async with running_bot(tmp_path, policy=ADMINS) as bot:
        bot.slack.group_members["S0ADMINS"] = ["U5"]
        bot.slack.rate_limit("usergroups.users.list", 2, retry_after=1)
        await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
        card = "tenant_actions:acme-42"
        answers = []
        for attempt in range(10):
            await bot.act("tenant_decommission", block=card, user="U5", response=f"r{attempt}")
            [answer] = await bot.slack.wait_for(f"/response/r{attempt}")
            answers.append(str(answer))
            if "done — Decommission of acme-42 requested" in answers[-1]:
                break
            assert "Couldn't check your user groups" in answers[-1]
            await asyncio.sleep(0.4)
        assert "done — Decommission of acme-42 requested" in answers[-1]
        assert too_early(bot.slack.arrivals("/api/usergroups.users.list")) == []
        assert len(bot.slack.arrivals("/api/usergroups.users.list")) == 3  # 429, 429, then the answer
