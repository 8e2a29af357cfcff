"""Which tenantbot processes are alive, so that a dead process's unfinished actions can be told apart
from actions still running somewhere.

A process that runs actions holds a lease row `alive:<token>` naming its holder id (`host:pid:token`),
taken before its first claim (`hold`), renewed every third of its time to live while the process runs
(`keep`) and deleted when it stops (`release`). Every claim records its holder (`ActionClaim.owner`). A
process killed without a word stops renewing, so its lease runs out after PROCESS_LEASE and its claims
become recoverable at once (core/recovery.py), without waiting for ACTION_LEASE. The actions this
process is running right now are counted (`begin`/`end`), so its own recovery never touches them.
Actions that start at once (fifty operators pressing Reset right after a start) share one take of the
lease: each taking it for itself would race to create the one row, and the losers would be told it is
held by another process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from core.ports import Leases, StoreError

log = logging.getLogger(__name__)
PREFIX = "alive:"


class ProcessLease:
    """This process's liveness lease and its running actions. Without `leases` (tests of the service
    alone) it holds nothing: claims then carry no owner and are recovered only once ACTION_LEASE is over."""

    def __init__(
        self,
        leases: Leases | None,
        *,
        ttl: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.leases, self.ttl, self.clock = leases, ttl, clock  # bounded leases (core/bounded.py)
        token = secrets.token_hex(6)
        self.name = PREFIX + token
        self.id: str | None = f"{socket.gethostname()}:{os.getpid()}:{token}" if leases is not None else None
        self._renewed: datetime | None = None
        self._taking: asyncio.Future[None] | None = None  # the take under way, awaited by every caller
        self._running: Counter[str] = Counter()

    async def hold(self, *, renew: bool = False) -> None:
        """Take the lease, or renew it if a third of its time has passed (or `renew`). Raises StoreError."""
        if self.leases is None or self.id is None:
            return
        if not renew and self._renewed is not None and self.clock() - self._renewed < self.ttl / 3:
            return
        if self._taking is None or self._taking.done():
            self._taking = asyncio.ensure_future(self._take())
            self._taking.add_done_callback(_retrieved)
        await asyncio.shield(self._taking)  # one caller cancelled does not cancel the others' take

    async def _take(self) -> None:
        assert self.leases is not None and self.id is not None
        now = self.clock()
        if not await self.leases.try_lock(self.name, self.id, now=now, ttl=self.ttl):
            raise StoreError(f"the process lease {self.name} is held by another process")
        self._renewed = now

    async def keep(self) -> None:
        """Renew the lease while it is held, every third of its time to live, until cancelled."""
        while True:
            await asyncio.sleep((self.ttl / 3).total_seconds())
            if self._renewed is None:
                continue
            try:
                await self.hold(renew=True)
            except StoreError as e:
                log.warning("could not renew this process's lease (actions it runs may be recovered by others): %s", e)

    async def release(self) -> None:
        """Give the lease back on a clean stop: nothing of this process is left running."""
        if self.leases is None or self.id is None or self._renewed is None:
            return
        try:
            await self.leases.unlock(self.name, self.id)
        except StoreError as e:
            log.warning("could not release this process's lease (it expires by itself): %s", e)
        self._renewed = None

    async def live(self) -> set[str]:
        """Holder ids of every process whose lease has not run out (this one's included)."""
        if self.leases is None:
            return set()
        return await self.leases.holders(PREFIX, now=self.clock())

    def begin(self, tenant_id: str) -> None:
        self._running[tenant_id] += 1

    def end(self, tenant_id: str) -> None:
        self._running[tenant_id] -= 1
        if self._running[tenant_id] <= 0:
            del self._running[tenant_id]

    def running(self, tenant_id: str) -> bool:
        """An action on the tenant is under way in this process right now."""
        return self._running[tenant_id] > 0


def _retrieved(take: asyncio.Future[None]) -> None:
    """Mark a take's failure as seen: its callers got it, or were cancelled and no longer care."""
    if not take.cancelled():
        take.exception()
