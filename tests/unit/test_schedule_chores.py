"""The schedule's chores (`serve`: expiring Decommission requests nobody approved): each runs at every tick,
after recovery and the scan, and one that fails is logged and runs again at the next tick."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.ports import StoreError
from tenantbot.scheduler import start_scheduler


async def test_each_chore_runs_every_tick_and_a_failing_one_is_logged_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    async def failing() -> None:
        ran.append("failing")
        raise StoreError("approvals: no answer within 2 s")

    async def expiring() -> None:
        ran.append("expiring")

    schedule = start_scheduler(None, timedelta(seconds=0.1), chores=[failing, expiring])
    try:
        for _ in range(50):
            if ran.count("expiring") >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await schedule.stop()
    assert ran[:4] == ["failing", "expiring", "failing", "expiring"]
    assert "a scheduled chore was skipped: approvals: no answer within 2 s" in caplog.text
