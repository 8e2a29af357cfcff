"""Turns (core/turns.py): a few answers worked out at once, none holding its turn while it waits aside."""

from __future__ import annotations

import asyncio

import pytest

from core.turns import Turns


class Works:
    """Works that note when they start and end when told, optionally waiting aside first."""

    def __init__(self, turns: Turns) -> None:
        self.turns = turns
        self.started: list[int] = []
        self.go: dict[int, asyncio.Event] = {}

    async def work(self, n: int, *, aside: bool = False) -> int:
        self.started.append(n)
        self.go[n] = asyncio.Event()
        if aside:
            async with self.turns.aside():
                await self.go[n].wait()
        else:
            await self.go[n].wait()
        return n


async def test_at_most_the_turns_run_at_once_and_the_next_starts_when_one_ends() -> None:
    turns = Turns(2)
    works = Works(turns)
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


async def test_work_waiting_aside_gives_its_turn_to_the_next_and_takes_one_again_to_finish() -> None:
    turns = Turns(1)
    works = Works(turns)
    aside = asyncio.create_task(turns.run(works.work(0, aside=True)))
    await asyncio.sleep(0.01)
    after = asyncio.create_task(turns.run(works.work(1)))
    await asyncio.sleep(0.01)
    assert works.started == [0, 1]  # the first waits aside: the second has its turn
    works.go[0].set()
    await asyncio.sleep(0.01)
    assert not aside.done()  # done waiting, it needs a turn again to finish
    works.go[1].set()
    assert await asyncio.gather(aside, after) == [0, 1]
    third = asyncio.create_task(turns.run(works.work(2)))
    await asyncio.sleep(0.01)
    assert works.started == [0, 1, 2]  # every turn was given back
    works.go[2].set()
    await third


async def test_waiting_aside_without_a_turn_changes_nothing() -> None:
    turns = Turns(1)
    async with turns.aside():
        pass
    assert await asyncio.wait_for(turns.run(asyncio.sleep(0, result=1)), 1) == 1


async def test_work_that_fails_or_is_cancelled_while_taking_its_turn_again_gives_back_what_it_holds() -> None:
    turns = Turns(1)
    works = Works(turns)

    async def failing() -> int:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await turns.run(failing())
    aside = asyncio.create_task(turns.run(works.work(0, aside=True)))
    await asyncio.sleep(0.01)
    holder = asyncio.create_task(turns.run(works.work(1)))
    await asyncio.sleep(0.01)
    works.go[0].set()  # the first wants its turn back while the second holds it
    await asyncio.sleep(0.01)
    aside.cancel()
    with pytest.raises(asyncio.CancelledError):
        await aside
    works.go[1].set()
    assert await holder == 1
    last = [asyncio.create_task(turns.run(works.work(n))) for n in (2, 3)]
    await asyncio.sleep(0.01)
    assert works.started[2:] == [2]  # one turn in all: the cancelled work gave back none it did not hold
    works.go[2].set()
    await asyncio.sleep(0.01)
    works.go[3].set()
    assert await asyncio.gather(*last) == [2, 3]
