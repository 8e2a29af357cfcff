"""When a batch's next member may run: the pace (at most `rate` a second) and the canary's verdict.

Both are pure (a clock and a sleep are given), so they are tested without waiting: core/batch_runner.py
asks the `Pacer` before each member and, with a canary, `canary_verdict` before the first member after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from enum import StrEnum

from core.batches import Member
from core.decisions import Assessment, Situation
from core.domain import Tenant, TenantState

CANARY_POLL = timedelta(seconds=2)  # how often the canary's tenants are looked at while waiting


class Canary(StrEnum):
    WAIT = "wait"
    PASSED = "passed"
    WEDGED_AGAIN = "wedged again"


def canary_verdict(
    checked: Sequence[tuple[Member, Tenant, Assessment]], order: Sequence[str]
) -> tuple[Canary, str | None]:
    """Whether the canary's retries got past the step each had wedged at (`order`: the saga's steps):
    PASSED once all did (or finished), WEDGED_AGAIN (with who and where) as soon as one is wedged or failed
    again, else WAIT."""
    waiting = False
    for member, tenant, assessment in checked:
        if assessment.situation.wedged or assessment.situation is Situation.FAILED_CLEANLY:
            where = f" at `{tenant.current_step}`" if tenant.current_step else ""
            return Canary.WEDGED_AGAIN, f"canary {tenant.id} wedged again{where}: {assessment.reason}"
        if tenant.state is TenantState.ACTIVE:
            continue
        if not got_past(tenant.current_step, member.step, order):
            waiting = True
    return (Canary.WAIT, None) if waiting else (Canary.PASSED, None)


def got_past(current: str | None, wedged_at: str | None, order: Sequence[str]) -> bool:
    """A step after the one it wedged at has completed (or is under way past it)."""
    if current is None:
        return False
    if wedged_at is None or wedged_at not in order or current not in order:
        return current != wedged_at
    return order.index(current) > order.index(wedged_at)


class Pacer:
    """At most `rate` members a second: two members start at least 1 / rate seconds apart, so a slow
    member is never made up for by a burst after it."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval, self.clock, self.sleep = 1 / rate, clock, sleep
        self._next: float | None = None

    def delay(self) -> float:
        """Seconds to wait before the next member (0 for the first)."""
        if self._next is None:
            return 0.0
        return max(0.0, self._next - self.clock())

    async def wait(self) -> None:
        pause = self.delay()
        if pause > 0:
            await self.sleep(pause)
        self._next = self.clock() + self.interval
