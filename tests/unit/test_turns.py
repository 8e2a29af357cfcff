"""Turns (bot/turns.py): a few answers worked out at once, and none holding its turn past `hold`."""

from __future__ import annotations

import asyncio

import pytest

from bot.turns import Turns


class Works:
    """Works that note when they start and end when told (or after `seconds`)."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.go: dict[int, asyncio.Event] = {}

    async def work(self, n: int, seconds: float | None = None) -> int:
        self.started.append(n)
        self.go[n] = asyncio.Event()
        if seconds is None:
            await self.go[n].wait()
        else:
            await asyncio.sleep(seconds)
        return n


async def test_at_most_the_turns_run_at_once_and_the_next_starts_when_one_ends() -> None:
    turns, works = Turns(2, hold=10), Works()
    running = [asyncio.create_task(turns.run(works.work(n))) for n in range(3)]
    await asyncio.sleep(0.01)
    assert works.started == [0, 1]
    works.go[0].set()
    assert await running[0] == 0
    await asyncio.sleep(0.01)
    assert works.started == [0, 1, 2]
    for n in (1, 2):
        works.go[n].set()
    assert await asyncio.gather(*running) == [0, 1, 2]


async def test_work_still_waiting_after_hold_gives_its_turn_to_the_next_and_still_finishes() -> None:
    turns, works = Turns(1, hold=0.05), Works()
    running = [asyncio.create_task(turns.run(works.work(n, seconds=0.3))) for n in range(2)]
    await asyncio.sleep(0.02)
    assert works.started == [0]
    await asyncio.sleep(0.08)
    assert works.started == [0, 1]
    assert await asyncio.gather(*running) == [0, 1]


async def test_work_that_fails_gives_its_turn_back() -> None:
    turns, works = Turns(1, hold=10), Works()

    async def failing() -> int:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await turns.run(failing())
    assert await asyncio.wait_for(turns.run(works.work(1, seconds=0)), 1) == 1
