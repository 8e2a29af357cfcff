"""Auto-recovery (core/auto_recovery.py): which situations it accepts, which tenants its batches take, the
daily cap over a rolling 24 hours, and nothing while frozen; on an injected clock and in-memory batches."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import pytest

from core.auto_recovery import ACTOR, AutoRecovery, Recent, parse_situations, plan
from core.batches import DEFAULT_CANARY, DEFAULT_RATE, Batch, BatchStatus, Kind, Member, MemberStatus, NewBatch
from core.decisions import Assessment, Recommendation, Situation
from core.domain import Action

ORPHANED, CLOSED, ERROR = Situation.WEDGED_ORPHANED, Situation.WEDGED_ENGINE_CLOSED, Situation.WEDGED_ERROR
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
NOTHING = Recent(taken=(), running=())


def assessment(situation: Situation, step: str | None = None, again: str | None = None) -> Assessment:
    return Assessment(situation, Recommendation.RESET_THEN_RETRY, (Action.RESET,), "why", step, None, again)


def orphans(count: int, step: str = "seed_data", prefix: str = "o") -> dict[str, Assessment]:
    return {f"{prefix}{i:02d}": assessment(ORPHANED, step) for i in range(count)}


class InMemoryBatches:
    """The batch store's rows, enough for auto-recovery: created batches with their members and creators."""

    def __init__(self) -> None:
        self.rows: list[tuple[Batch, NewBatch]] = []

    async def create(self, batch: NewBatch) -> Batch:
        counts = {MemberStatus.WAITING: len(batch.members)}
        cause = batch.cause
        made = Batch(
            len(self.rows) + 1, batch.kind, cause.situation, cause.step, cause.error, batch.reason, batch.rate,
            batch.canary, batch.created_by, batch.created_at, counts=counts,
        )  # fmt: skip
        self.rows.append((made, batch))
        return made

    async def members_since(self, created_by: str, since: datetime) -> list[str]:
        return [
            t for b, new in self.rows if b.created_by == created_by and b.created_at >= since for t, _ in new.members
        ]

    async def running_members(self) -> set[str]:
        return {t for b, new in self.rows if b.status is BatchStatus.RUNNING for t, _ in new.members}

    def finish_all(self) -> None:
        self.rows = [(dataclasses.replace(b, status=BatchStatus.FINISHED), new) for b, new in self.rows]

    async def get(self, batch_id: int) -> Batch | None:
        return next((b for b, _ in self.rows if b.id == batch_id), None)

    async def recent(self, limit: int) -> list[Batch]:
        return [b for b, _ in self.rows][-limit:]

    async def running(self) -> list[Batch]:
        return [b for b, _ in self.rows if b.status is BatchStatus.RUNNING]

    async def members(self, batch_id: int, status: MemberStatus | None = None) -> list[Member]:
        new = next(n for b, n in self.rows if b.id == batch_id)
        return [Member(batch_id, i, t, s) for i, (t, s) in enumerate(new.members)]

    async def mark(self, batch_id: int, tenant_id: str, status: MemberStatus, why: str | None, at: datetime) -> None:
        raise NotImplementedError

    async def end(self, batch_id: int, status: BatchStatus, note: str | None, at: datetime) -> None:
        raise NotImplementedError

    async def canary_passed(self, batch_id: int) -> None:
        raise NotImplementedError

    async def record_message(self, batch_id: int, message_ref: str) -> None:
        raise NotImplementedError

    async def request_stop(self, batch_id: int, by: str) -> Batch | None:
        raise NotImplementedError


def members(batches: Collection[NewBatch]) -> list[list[str]]:
    return [[t for t, _ in b.members] for b in batches]


class TestSituations:
    def test_only_situations_that_need_no_judgement_are_accepted(self) -> None:
        assert parse_situations(" wedged_orphaned,wedged_engine_closed ") == {ORPHANED, CLOSED}
        assert parse_situations("") == frozenset()

    @pytest.mark.parametrize(
        ("text", "said"),
        [("wedged_error", "needs judgement"), ("wedged_no_progress", "needs judgement"), ("orphans", "unknown")],
    )
    def test_any_other_situation_is_refused_with_the_ones_accepted(self, text: str, said: str) -> None:
        with pytest.raises(ValueError, match=said) as refused:
            parse_situations(f"wedged_orphaned,{text}")
        assert "wedged_orphaned, wedged_engine_closed" in str(refused.value)


class TestPlan:
    def test_each_cause_group_of_an_accepted_situation_gets_a_reset_and_retry_batch_largest_first(self) -> None:
        wedged = {
            **orphans(2, "seed_data"),
            **orphans(3, "create_identity", prefix="p"),
            "e1": assessment(ERROR, "seed_data"),
            "c1": assessment(CLOSED, "activate"),
        }
        chosen = plan(wedged, {ORPHANED}, NOTHING, cap=50, now=NOW)
        assert members(chosen) == [["p00", "p01", "p02"], ["o00", "o01"]]
        first = chosen[0]
        assert (first.kind, first.rate, first.canary, first.created_by) == (
            Kind.RESET_RETRY,
            DEFAULT_RATE,
            DEFAULT_CANARY,
            ACTOR,
        )
        assert first.members[0] == ("p00", "create_identity")
        assert "automatic" in first.reason and "wedged_orphaned" in first.reason and "create_identity" in first.reason
        assert members(plan(wedged, {ORPHANED, CLOSED}, NOTHING, cap=50, now=NOW))[-1] == ["c1"]

    def test_the_cap_counts_the_tenants_taken_within_the_day_across_groups(self) -> None:
        wedged = {**orphans(4, "seed_data"), **orphans(3, "activate", prefix="p")}
        assert members(plan(wedged, {ORPHANED}, NOTHING, cap=6, now=NOW)) == [
            ["o00", "o01", "o02", "o03"],
            ["p00", "p01"],
        ]
        taken = Recent(taken=["x1", "x2", "x3"], running=())
        assert members(plan(wedged, {ORPHANED}, taken, cap=6, now=NOW)) == [["o00", "o01", "o02"]]
        assert plan(wedged, {ORPHANED}, Recent(taken=[f"x{i}" for i in range(6)], running=()), cap=6, now=NOW) == []

    def test_a_tenant_that_wedged_again_after_reset_and_retry_is_left_to_a_human(self) -> None:
        again = "wedged again at `seed_data` after Reset and Retry at 03:12 UTC"
        wedged = {**orphans(2), "z": assessment(ORPHANED, "seed_data", again=again)}
        assert members(plan(wedged, {ORPHANED}, NOTHING, cap=50, now=NOW)) == [["o00", "o01"]]

    def test_a_tenant_in_a_running_batch_under_an_action_or_taken_today_is_not_taken(self) -> None:
        wedged = orphans(5)
        recent = Recent(taken=["o01"], running=["o02"])
        assert members(plan(wedged, {ORPHANED}, recent, cap=50, now=NOW, busy={"o03"})) == [["o00", "o04"]]


class TestAutoRecovery:
    def setup_method(self) -> None:
        self.now = NOW
        self.store = InMemoryBatches()
        self.auto = AutoRecovery(self.store, {ORPHANED}, cap=5, clock=lambda: self.now)

    async def test_nothing_starts_while_frozen(self) -> None:
        assert await self.auto.start(orphans(3), frozen=True) == []
        assert self.store.rows == []

    async def test_a_second_tick_starts_nothing_for_the_same_tenants(self) -> None:
        [batch] = await self.auto.start(orphans(3), frozen=False)
        assert (batch.total, batch.created_by, batch.created_at) == (3, ACTOR, NOW)
        assert await self.auto.start(orphans(3), frozen=False) == []
        self.store.finish_all()  # done, yet still taken within the day: never twice a day
        self.now += timedelta(hours=23)
        assert await self.auto.start(orphans(3), frozen=False) == []

    async def test_the_cap_holds_over_a_rolling_day_and_frees_up_after_it(self) -> None:
        [first] = await self.auto.start(orphans(4), frozen=False)
        assert first.total == 4 and await self.auto.left_today() == 1
        self.now += timedelta(hours=12)
        [second] = await self.auto.start(orphans(4, prefix="n"), frozen=False)
        assert second.total == 1 and await self.auto.left_today() == 0
        assert await self.auto.start(orphans(4, prefix="m"), frozen=False) == []
        self.now += timedelta(hours=12, seconds=1)  # the first batch is older than a day now
        self.store.finish_all()
        [third] = await self.auto.start(orphans(4, prefix="m"), frozen=False)
        assert third.total == 4

    async def test_situations_not_asked_for_are_left_alone(self) -> None:
        assert await self.auto.start({"e": assessment(ERROR, "seed_data"), "c": assessment(CLOSED)}, frozen=False) == []
        assert self.store.rows == []
