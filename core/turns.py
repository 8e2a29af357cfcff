"""Turns: at most a few answers worked out at once, none holding its turn while it waits on the engine.

Everything `serve` does shares one event loop and one connection pool, so under a burst of commands the
acks of new requests wait behind every card being read and rendered, and reads wait for connections
(a wait that counts against READ_TIMEOUT). Answering `at_once` commands at a time (bot/listeners/
commands.py) keeps both queues short. But an engine answering late must not make a burst wait for it
`at_once` answers at a time: while an answer waits on the engine (`aside`, which the bounded engine,
core/bounded.py, wraps around its reads) it gives its turn to the next, and takes a turn again for the
rest of its work. A database read keeps its turn: the turns are what keeps the pool from running dry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
AT_ONCE = 16  # enough to keep the database and the engine busy; DB_POOL_SIZE (20) leaves room for the rest


class Turns:
    def __init__(self, at_once: int = AT_ONCE) -> None:
        self.at_once = at_once
        self._free = asyncio.Semaphore(at_once)
        self._holding: ContextVar[bool] = ContextVar(f"turns-{id(self)}", default=False)

    async def run(self, work: Awaitable[T]) -> T:
        """Await `work` once a turn is free, giving the turn back when it ends."""
        await self._free.acquire()
        holding = self._holding.set(True)
        try:
            return await work
        finally:
            if self._holding.get():  # not if cancelled while taking a turn again in `aside`
                self._free.release()
            self._holding.reset(holding)

    @asynccontextmanager
    async def aside(self) -> AsyncIterator[None]:
        """Wait without the turn this task holds (if any), taking a turn again afterwards."""
        if not self._holding.get():
            yield
            return
        self._free.release()
        try:
            yield
        finally:
            try:
                await self._free.acquire()
            except asyncio.CancelledError:
                self._holding.set(False)  # holds no turn now: `run` must not give one back
                raise
