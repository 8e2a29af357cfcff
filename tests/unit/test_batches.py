"""Batches' pure parts: which tenants a batch takes, whether the canary holds, and the pace."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from core.batch_pace import Canary, Pacer, canary_verdict
from core.batches import Batch, BatchStatus, Kind, Member, MemberStatus, headline, how_it_ended, matches, select
from core.causes import Cause
from core.decisions import Assessment, Recommendation, Situation
from core.domain import Action, Tenant, TenantState

ORPHANED, ERROR, PROGRESS = Situation.WEDGED_ORPHANED, Situation.WEDGED_ERROR, Situation.MAKING_PROGRESS
ORDER = ("reserve_storage", "create_identity", "configure_network", "seed_data", "activate")
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def assessment(
    situation: Situation, step: str | None = None, error: str | None = None, again: str | None = None
) -> Assessment:
    return Assessment(situation, Recommendation.RESET_THEN_RETRY, (Action.RESET,), "why", step, error, again)


def test_a_batch_takes_the_tenants_of_its_cause_sorted_with_the_step_each_stopped_at() -> None:
    wedged = {
        "b": assessment(ORPHANED, "seed_data"),
        "a": assessment(ORPHANED, "seed_data"),
        "c": assessment(ORPHANED, "configure_network"),
        "d": assessment(ERROR, "seed_data", "upstream API returned 500"),
    }
    assert select(wedged, ORPHANED).members == (("a", "seed_data"), ("b", "seed_data"), ("c", "configure_network"))
    assert select(wedged, ORPHANED, "seed_data").members == (("a", "seed_data"), ("b", "seed_data"))
    assert select(wedged, ERROR, error="returned 500").members == (("d", "seed_data"),)
    assert select(wedged, ERROR, error="returned 404").members == ()


def test_an_error_as_typed_matches_its_normalised_group() -> None:
    cause = Cause(ERROR, "seed_data", "request <hex> failed")
    assert matches(cause, ERROR, None, "request 7f3a9c01 failed")
    assert not matches(cause, ORPHANED, None, None)


def test_a_tenant_that_wedged_again_after_reset_and_retry_is_left_out_and_the_preview_says_why() -> None:
    again = "wedged again at `seed_data` after Reset and Retry at 03:12 UTC"
    selection = select(
        {"a": assessment(ORPHANED, "seed_data"), "z": assessment(ORPHANED, "seed_data", again=again)}, ORPHANED
    )
    assert selection.members == (("a", "seed_data"),)
    assert selection.excluded == (("z", again),)


def test_only_a_retry_gives_a_canary_something_to_wait_for() -> None:
    assert (Kind.RESET.canary_default, Kind.RETRY.canary_default, Kind.RESET_RETRY.canary_default) == (0, 5, 5)
    assert Kind.RESET_RETRY.actions == (Action.RESET, Action.RETRY)


def canary(
    tenant_id: str, wedged_at: str | None, state: TenantState, step: str | None, situation: Situation
) -> tuple[Member, Tenant, Assessment]:
    member = Member(1, 0, tenant_id, wedged_at)
    tenant = Tenant(tenant_id, state, NOW, current_step=step)
    return member, tenant, assessment(situation, step)


def test_the_canary_waits_until_every_retry_is_past_the_step_it_wedged_at() -> None:
    past = canary("a", "configure_network", TenantState.PROVISIONING, "seed_data", PROGRESS)
    at = canary("b", "configure_network", TenantState.PROVISIONING, "configure_network", PROGRESS)
    not_yet = canary("c", "configure_network", TenantState.PENDING, None, PROGRESS)
    assert canary_verdict([past, at], ORDER) == (Canary.WAIT, None)
    assert canary_verdict([past, not_yet], ORDER) == (Canary.WAIT, None)
    finished = canary("b", "configure_network", TenantState.ACTIVE, "activate", Situation.DONE)
    assert canary_verdict([past, finished], ORDER) == (Canary.PASSED, None)


def test_an_orphan_with_no_step_passes_once_its_retry_completed_a_step() -> None:
    assert canary_verdict([canary("a", None, TenantState.PROVISIONING, "reserve_storage", PROGRESS)], ORDER)[0] is (
        Canary.PASSED
    )


def test_one_canary_wedged_again_stops_the_batch_and_names_it() -> None:
    past = canary("a", "seed_data", TenantState.ACTIVE, "activate", Situation.DONE)
    again = canary("b", "seed_data", TenantState.PROVISIONING, "seed_data", Situation.WEDGED_NO_PROGRESS)
    verdict, why = canary_verdict([past, again], ORDER)
    assert verdict is Canary.WEDGED_AGAIN and why == "canary b wedged again at `seed_data`: why"


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 100.0, list[float]()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_the_pace_spaces_members_by_one_over_the_rate() -> None:
    clock = Clock()
    pacer = Pacer(5, clock, clock.sleep)
    for _ in range(3):
        await pacer.wait()
        clock.now += 0.05  # the member's own work
    assert [round(s, 6) for s in clock.slept] == [0.15, 0.15]


async def test_a_slow_member_is_not_made_up_for_by_a_burst() -> None:
    clock = Clock()
    pacer = Pacer(5, clock, clock.sleep)
    await pacer.wait()
    clock.now += 3.0  # one member took 3 s
    await pacer.wait()
    assert clock.slept == []
    await pacer.wait()
    assert [round(s, 6) for s in clock.slept] == [0.2]


def test_a_batch_says_how_far_it_got_and_how_it_ended_in_one_line() -> None:
    at = datetime(2026, 11, 30, 3, 10, tzinfo=UTC)
    counts = {MemberStatus.WAITING: 155, MemberStatus.DONE: 312, MemberStatus.REFUSED: 3, MemberStatus.FAILED: 0}
    running = Batch(1, Kind.RESET, Situation.WEDGED_ORPHANED, "s", None, "r", 5, 0, "U1", at, counts=counts)
    assert headline(running) == "312/470 reset, 3 refused, 0 failed"
    assert how_it_ended(running) == "Running: 312/470 reset, 3 refused, 0 failed"
    canary = replace(running, kind=Kind.RESET_RETRY, canary=5)
    assert how_it_ended(canary).startswith("Running (waiting until the canary's 5 retries get past their step): 312")
    assert how_it_ended(replace(canary, canary_passed=True)).startswith("Running: 312/470 reset and retried")
    asked = replace(running, stop_requested_by="U2")
    assert how_it_ended(asked).startswith("Running (stop asked by U2): ")
    stopped = replace(asked, status=BatchStatus.STOPPED, note="stopped by U2")
    assert how_it_ended(stopped) == "Stopped (stopped by U2): 312/470 reset, 3 refused, 0 failed"
    assert how_it_ended(replace(running, status=BatchStatus.FINISHED)).startswith("Finished: 312/470")
