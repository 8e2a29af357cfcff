"""Turns: at most a few answers worked out at once, without letting a slow one hold the others back.

Everything `serve` does shares one event loop, so under a burst of commands the acks of new requests
wait behind every card being read and rendered. Answering `n` commands at a time keeps that queue short.
But most of an answer's time can be waiting (an engine answering late, a database that hangs until
READ_TIMEOUT, a sweep): a plain semaphore would then answer the burst `n` timeouts at a time. So a turn
lasts until the work is done or `hold` has passed, whichever comes first: work that waits that long
gives its turn to the next and finishes on its own, since waiting costs the loop nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Turns:
    def __init__(self, at_once: int, hold: float) -> None:
        self.at_once, self.hold = at_once, hold
        self._free = asyncio.Semaphore(at_once)

    async def run(self, work: Awaitable[T]) -> T:
        """Await `work` once a turn is free; its turn is given back when it ends or after `hold` seconds."""
        await self._free.acquire()
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if not given_back:
                given_back = True
                self._free.release()

        timer = asyncio.get_running_loop().call_later(self.hold, give_back)
        try:
            return await work
        finally:
            timer.cancel()
            give_back()
