"""Auto-recovery, off by default: the scan starts a Reset and Retry batch by itself for the situations
whose recovery needs no judgement.

An orphaned handle (`wedged_orphaned`) or a run the engine closed under an open row
(`wedged_engine_closed`) leaves the guide one path: Reset, then Retry. Nobody is asked anything a human
would weigh, so `AUTO_RECOVER` may name those situations (and only those) and the scan starts a batch
(core/batches.py) for each of their cause groups after its tick, with the canary, the default rate and a
daily cap (`AUTO_RECOVER_MAX` tenants per rolling 24 hours across every automatic batch, counted from the
batches table, so replicas and restarts share it). It leaves to humans: everything while frozen, a
tenant that wedged again after a Reset and Retry (the recovery did not hold), a tenant under an action or
already a member of a running batch, and a tenant an automatic batch already took within the day.

`plan` is the pure choice; `AutoRecovery` reads what it needs and records the batches. The batches run
like any other (serve's batch job, core/batch_runner.py), so Stop and freeze stop them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.batches import DEFAULT_CANARY, DEFAULT_RATE, Batch, BatchStore, Kind, NewBatch
from core.causes import Cause, cause_of, group, label
from core.decisions import Assessment, Situation

ACTOR = "tenantbot:auto"
WINDOW = timedelta(days=1)
DEFAULT_MAX = 50
MAX_MAX = 10_000
# the engine no longer holds a run: Reset then Retry is the guide's only path, nothing to weigh
NO_JUDGEMENT = (Situation.WEDGED_ORPHANED, Situation.WEDGED_ENGINE_CLOSED)


def parse_situations(text: str) -> frozenset[Situation]:
    """`AUTO_RECOVER`'s comma-separated situation keys; ValueError naming the first one not accepted."""
    keys = [k.strip() for k in text.split(",") if k.strip()]
    accepted = {s.key: s for s in NO_JUDGEMENT}
    for key in keys:
        if key not in accepted:
            known = "a situation that needs judgement" if any(s.key == key for s in Situation) else "unknown"
            raise ValueError(f"{key!r} is {known}; only these recover without judgement: {', '.join(accepted)}")
    return frozenset(accepted[k] for k in keys)


@dataclass(frozen=True)
class Recent:
    """What the batches table says about the last 24 hours and now."""

    taken: Collection[str]  # tenant ids of members of automatic batches created within the window
    running: Collection[str]  # tenant ids of members of running batches (any creator)


def reason_for(cause: Cause) -> str:
    return f"automatic recovery (AUTO_RECOVER={cause.situation.key}): {label(cause)}"


def plan(
    wedged: Mapping[str, Assessment],
    situations: Collection[Situation],
    recent: Recent,
    *,
    cap: int,
    now: datetime,
    busy: Collection[str] = (),
) -> list[NewBatch]:
    """The batches to start: one per cause group of an accepted situation, largest group first, members
    by tenant id, until `cap` minus the tenants taken within the window is used up."""
    left = cap - len(recent.taken)
    skip = set(recent.taken) | set(recent.running) | set(busy)
    eligible = {
        tenant_id: cause_of(a)
        for tenant_id, a in wedged.items()
        if a.situation in situations and not a.wedged_again and tenant_id not in skip
    }
    batches = []
    for found in group(eligible):
        if left <= 0:
            break
        members = tuple((tenant_id, found.cause.step) for tenant_id in found.members[:left])
        left -= len(members)
        batches.append(
            NewBatch(
                Kind.RESET_RETRY,
                found.cause,
                reason_for(found.cause),
                DEFAULT_RATE,
                DEFAULT_CANARY,
                ACTOR,
                now,
                members,
            )
        )
    return batches


class AutoRecovery:
    def __init__(
        self, batches: BatchStore, situations: Collection[Situation], *, cap: int, clock: Callable[[], datetime]
    ) -> None:
        self.batches, self.situations, self.cap, self.clock = batches, frozenset(situations), cap, clock

    async def shown_at(self, batch: Batch, message_ref: str) -> None:
        """Where the batch was announced: its progress is edited there as it runs (serve's batch job)."""
        await self.batches.record_message(batch.id, message_ref)

    async def left_today(self) -> int:
        """Tenants automatic batches may still take within the rolling day."""
        taken = await self.batches.members_since(ACTOR, self.clock() - WINDOW)
        return max(0, self.cap - len(taken))

    async def start(self, wedged: Mapping[str, Assessment], *, frozen: bool, busy: Collection[str] = ()) -> list[Batch]:
        """Record the batches `plan` chooses (none while frozen); serve's batch job runs them."""
        if frozen or not self.situations:
            return []
        if not any(a.situation in self.situations for a in wedged.values()):
            return []  # the usual tick: nothing to read
        now = self.clock()
        recent = Recent(await self.batches.members_since(ACTOR, now - WINDOW), await self.batches.running_members())
        chosen = plan(wedged, self.situations, recent, cap=self.cap, now=now, busy=busy)
        return [await self.batches.create(new) for new in chosen]
