"""The decision table, one example per row of `TABLE` (and so of SPEC.md's table), plus its boundaries."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core import events as ev
from core.attempts import AGAIN_WITHIN, NO_PAST, Past, past_of
from core.decisions import ESCALATIONS, TABLE, Limits, Recommendation, Situation, assess, refusal
from core.domain import (
    Action,
    ActionClaim,
    AuditEvent,
    RunObservation,
    RunStatus,
    Tenant,
    TenantState,
    provisioning_handle,
)
from tests.fakes import at

NOW = at(30)
LIMITS = Limits(stuck_after=timedelta(minutes=10), default_heartbeat_timeout=timedelta(seconds=60))
HANDLE = provisioning_handle("acme", 1)
RUNNING = RunObservation(RunStatus.RUNNING, "create_identity", 1, None, timedelta(seconds=60))


def tenant(state: TenantState = TenantState.PROVISIONING, **fields: object) -> Tenant:
    defaults: dict[str, object] = {"handle": HANDLE, "attempt": 1, "last_progress_at": at(29)}
    return Tenant("acme", state, at(0), **{**defaults, **fields})  # type: ignore[arg-type]


def beating(seconds_ago: int) -> RunObservation:
    return RunObservation(
        RunStatus.RUNNING, "seed_data", 1, NOW - timedelta(seconds=seconds_ago), timedelta(seconds=60)
    )


# One example per row of TABLE, in the same order: (tenant, engine observation or None if not asked/answered).
EXAMPLES: list[tuple[str, Tenant, RunObservation | None]] = [
    ("an operator action holds the lease", tenant(claim=ActionClaim(Action.RESET, "U1", at(29, 50))), RUNNING),
    ("active tenant", tenant(TenantState.ACTIVE, handle=None), None),
    ("cancelled tenant", tenant(TenantState.CANCELLED), RunObservation(RunStatus.CANCELED)),
    (
        "failed with failed_activity",
        tenant(TenantState.FAILED, error="quota", failed_activity="reserve_storage"),
        RunObservation(RunStatus.FAILED),
    ),
    ("pending after a reset", tenant(TenantState.PENDING, handle=None), None),
    ("engine did not answer", tenant(), None),
    ("cancel under way", tenant(TenantState.CANCELLING), RUNNING),
    ("engine does not know the run", tenant(), RunObservation(RunStatus.NOT_FOUND)),
    ("engine closed the run", tenant(), RunObservation(RunStatus.TERMINATED)),
    ("cancel stopped moving", tenant(TenantState.CANCELLING, last_progress_at=at(13)), beating(17 * 60)),
    ("error recorded, run live", tenant(error="identity API 500"), RUNNING),
    ("error recorded, no run", tenant(TenantState.PENDING, handle=None, error="identity API 500"), None),
    ("making progress", tenant(last_progress_at=at(25)), RUNNING),
    ("slow but heartbeating", tenant(last_progress_at=at(13)), beating(20)),
    ("no progress, no heartbeat", tenant(last_progress_at=at(13)), beating(17 * 60)),
    ("heartbeat late, not yet stuck", tenant(last_progress_at=at(13)), beating(5 * 60)),
]


def test_every_row_of_the_table_has_an_example() -> None:
    assert len(EXAMPLES) == len(TABLE)


@pytest.mark.parametrize(("row", "example"), list(zip(TABLE, EXAMPLES, strict=True)), ids=[e[0] for e in EXAMPLES])
def test_each_row_is_what_its_example_is_assessed_as(row, example) -> None:  # type: ignore[no-untyped-def]
    _, t, run = example
    assessment = assess(t, run, now=NOW, limits=LIMITS)
    assert (assessment.situation, assessment.recommended, assessment.allowed) == (
        row.situation,
        row.recommended,
        row.allowed,
    )


SPEC_ROWS = [
    # situation from SPEC.md, recommended, allowed (SPEC.md's table, verbatim)
    (Situation.MAKING_PROGRESS, Recommendation.WAIT, {Action.CANCEL}),
    (Situation.SLOW_BUT_ALIVE, Recommendation.WAIT, {Action.CANCEL}),
    (Situation.WEDGED_NO_PROGRESS, Recommendation.RESET_THEN_RETRY, {Action.RESET, Action.CANCEL}),
    (Situation.WEDGED_ORPHANED, Recommendation.RESET_THEN_RETRY, {Action.RESET}),
    (Situation.WEDGED_ENGINE_CLOSED, Recommendation.RESET_THEN_RETRY, {Action.RESET}),
    (Situation.FAILED_CLEANLY, Recommendation.RETRY, {Action.RETRY, Action.DECOMMISSION}),
    (Situation.PENDING_CLEAN, Recommendation.RETRY, {Action.RETRY, Action.DECOMMISSION}),
    (Situation.CANCELLED, Recommendation.NOTHING, {Action.RETRY, Action.DECOMMISSION}),
    (Situation.DONE, Recommendation.NOTHING, set()),
]


@pytest.mark.parametrize(("situation", "recommended", "allowed"), SPEC_ROWS, ids=[r[0].key for r in SPEC_ROWS])
def test_the_table_says_what_spec_says(situation: Situation, recommended: Recommendation, allowed: set) -> None:
    rows = [r for r in TABLE if r.situation is situation]
    assert rows and all(r.recommended is recommended and set(r.allowed) == allowed for r in rows)


def test_error_without_clean_fail_allows_cancel_only_while_a_run_is_live() -> None:
    rows = {bool(Action.CANCEL in r.allowed) for r in TABLE if r.situation is Situation.WEDGED_ERROR}
    assert rows == {True, False}


def test_reset_is_allowed_only_in_wedged_situations() -> None:
    assert all(r.situation.wedged for r in TABLE if Action.RESET in r.allowed)


def test_a_situation_is_read_back_from_its_stored_key_and_no_other_word() -> None:
    assert [Situation.from_key(s.key) for s in Situation] == list(Situation)
    with pytest.raises(ValueError, match="unknown situation 'wedged: orphaned handle'"):
        Situation.from_key(str(Situation.WEDGED_ORPHANED))  # the label is not a key


class TestBoundaries:
    def test_progress_exactly_at_the_stuck_threshold_is_stalled(self) -> None:
        t = tenant(last_progress_at=NOW - LIMITS.stuck_after)
        assert assess(t, beating(LIMITS.stuck_after.seconds), now=NOW, limits=LIMITS).situation.wedged

    def test_progress_one_second_under_the_threshold_is_progress(self) -> None:
        t = tenant(last_progress_at=NOW - LIMITS.stuck_after + timedelta(seconds=1))
        assessment = assess(t, beating(LIMITS.stuck_after.seconds), now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.MAKING_PROGRESS

    def test_heartbeat_exactly_at_its_timeout_is_still_alive(self) -> None:
        assessment = assess(tenant(last_progress_at=at(13)), beating(60), now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.SLOW_BUT_ALIVE

    def test_heartbeat_one_second_past_its_timeout_is_late(self) -> None:
        assessment = assess(tenant(last_progress_at=at(13)), beating(61), now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.HEARTBEAT_LATE

    def test_heartbeat_exactly_at_the_stuck_threshold_is_wedged(self) -> None:
        assessment = assess(tenant(last_progress_at=at(13)), beating(600), now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.WEDGED_NO_PROGRESS

    def test_a_claim_older_than_the_lease_no_longer_blocks(self) -> None:
        t = tenant(claim=ActionClaim(Action.RESET, "U1", NOW - LIMITS.action_lease), error="boom")
        assert assess(t, RUNNING, now=NOW, limits=LIMITS).situation is Situation.WEDGED_ERROR


def hung(attempt: int, heartbeat_seconds_ago: int) -> RunObservation:
    """A step the engine timed out on heartbeats and is retrying (what a hung activity looks like)."""
    return RunObservation(
        RunStatus.RUNNING,
        "seed_data",
        attempt,
        NOW - timedelta(seconds=heartbeat_seconds_ago),
        timedelta(seconds=60),
        "activity Heartbeat timeout",
        heartbeat_timed_out=True,
    )


class TestWindingDown:
    def test_a_cancel_whose_compensation_keeps_failing_is_wedged_at_once(self) -> None:
        run = RunObservation(RunStatus.RUNNING, "release_step", 40, NOW, timedelta(seconds=60), "storage API 500")
        assessment = assess(tenant(TenantState.CANCELLING), run, now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.WEDGED_WINDING_DOWN
        assert assessment.allowed == (Action.RESET,) and "storage API 500" in assessment.reason

    def test_a_cancel_of_a_tenant_with_an_old_error_winds_down_quietly(self) -> None:
        t = tenant(TenantState.CANCELLING, error="identity API 500")
        assert assess(t, RUNNING, now=NOW, limits=LIMITS).situation is Situation.WINDING_DOWN

    def test_a_decommission_the_engine_cannot_be_asked_about_is_unreachable_not_winding_down(self) -> None:
        assessment = assess(tenant(TenantState.DECOMMISSIONING), None, now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.ENGINE_UNREACHABLE

    def test_a_stopped_decommission_recommends_reset_then_a_choice(self) -> None:
        t = tenant(TenantState.DECOMMISSIONING, last_progress_at=at(13))
        assessment = assess(t, beating(17 * 60), now=NOW, limits=LIMITS)
        assert assessment.recommended.next_action is Action.RESET
        assert "Decommission" in assessment.recommended


class TestHungSteps:
    def test_a_step_the_engine_keeps_timing_out_is_not_making_progress(self) -> None:
        assessment = assess(tenant(last_progress_at=at(25)), hung(6, 5 * 60), now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.HEARTBEAT_LATE
        assert "timed out seed_data on heartbeats, now at attempt 6" in assessment.reason

    def test_past_the_stuck_threshold_a_hung_step_is_wedged_with_the_engines_verdict(self) -> None:
        assessment = assess(tenant(last_progress_at=at(13)), hung(6, 17 * 60), now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.WEDGED_NO_PROGRESS
        assert "attempt 6" in assessment.reason

    def test_a_retried_step_that_beats_again_is_making_progress(self) -> None:
        assessment = assess(tenant(last_progress_at=at(25)), hung(2, 5), now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.MAKING_PROGRESS


def test_a_long_error_is_shortened_in_the_reason_but_kept_on_the_row() -> None:
    t = tenant(error="x" * 3000)
    assessment = assess(t, RUNNING, now=NOW, limits=LIMITS)
    assert assessment.situation is Situation.WEDGED_ERROR
    assert len(assessment.reason) < 400 and t.error == "x" * 3000


def test_a_cancel_whose_run_closed_before_compensation_finished_can_be_reset() -> None:
    # sdk-python#1224: a cancel can close the run without the workflow seeing CancelledError
    assessment = assess(tenant(TenantState.CANCELLING), RunObservation(RunStatus.CANCELED), now=NOW, limits=LIMITS)
    assert assessment.situation is Situation.WEDGED_ENGINE_CLOSED and assessment.allowed == (Action.RESET,)


class TestReasons:
    def test_the_stuck_reason_gives_the_timings(self) -> None:
        t = tenant(last_progress_at=at(13))
        reason = assess(t, beating(16 * 60), now=NOW, limits=LIMITS).reason
        assert "no progress for 17 min" in reason
        assert "last heartbeat 16 min ago" in reason
        assert "heartbeat timeout 60 s" in reason

    def test_the_row_heartbeat_counts_when_the_engine_has_none(self) -> None:
        t = tenant(last_progress_at=at(13), last_heartbeat_at=NOW - timedelta(seconds=10))
        assert assess(t, RUNNING, now=NOW, limits=LIMITS).situation is Situation.SLOW_BUT_ALIVE

    def test_an_engine_retrying_an_activity_error_counts_as_a_recorded_error(self) -> None:
        run = RunObservation(RunStatus.RUNNING, "create_identity", 4, NOW, timedelta(seconds=60), "HTTP 500")
        assessment = assess(tenant(), run, now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.WEDGED_ERROR
        assert "create_identity retrying, attempt 4: HTTP 500" in assessment.reason

    def test_a_heartbeat_timeout_retry_is_liveness_not_an_error(self) -> None:
        run = RunObservation(
            RunStatus.RUNNING,
            "seed_data",
            3,
            at(13),
            timedelta(seconds=60),
            "activity Heartbeat timeout",
            heartbeat_timed_out=True,
        )
        assessment = assess(tenant(last_progress_at=at(13)), run, now=NOW, limits=LIMITS)
        assert assessment.situation is Situation.WEDGED_NO_PROGRESS

    def test_a_failing_workflow_task_counts_as_a_recorded_error(self) -> None:
        run = RunObservation(RunStatus.RUNNING, workflow_task_attempt=3)
        assert assess(tenant(), run, now=NOW, limits=LIMITS).situation is Situation.WEDGED_ERROR


class TestRefusals:
    def test_retry_on_a_wedged_tenant_says_reset_first(self) -> None:
        assessment = assess(tenant(), RunObservation(RunStatus.NOT_FOUND), now=NOW, limits=LIMITS)
        assert refusal(Action.RETRY, assessment).startswith("Reset first")

    def test_other_refusals_name_the_situation_and_what_is_allowed(self) -> None:
        assessment = assess(tenant(TenantState.FAILED, error="x", failed_activity="a"), None, now=NOW, limits=LIMITS)
        message = refusal(Action.RESET, assessment)
        assert "failed cleanly" in message and "Allowed: Retry, Decommission" in message


# -- recommendations that remember: ESCALATIONS, applied on top of TABLE, and the Past they read ---------

RESET_STARTED, RESET_DONE = ev.started(Action.RESET), ev.completed(Action.RESET)
RETRY_STARTED, RETRY_DONE = ev.started(Action.RETRY), ev.completed(Action.RETRY)


def event(kind: str, when: datetime, **details: object) -> AuditEvent:
    return AuditEvent("acme", kind, "U1", when, dict(details))


RESET_AT = at(3, 12)


def reset_and_retry(step: str = "create_storage", at_: datetime = RESET_AT) -> Past:
    """The feed of a tenant reset at `step` at `at_`, then retried a minute later (newest first)."""
    later = at_ + timedelta(minutes=1)
    feed = [event(RETRY_DONE, later), event(RETRY_STARTED, later), event(RESET_DONE, at_)]
    return past_of([*feed, event(RESET_STARTED, at_, step=step)])


WEDGED_AGAIN = tenant(current_step="create_storage", attempt=2)

# One example per row of ESCALATIONS: (name, tenant, engine observation, past) the row applies to.
ESCALATION_EXAMPLES: list[tuple[str, Tenant, RunObservation | None, Past]] = [
    (
        "orphaned again at the step it was reset at",
        WEDGED_AGAIN,
        RunObservation(RunStatus.NOT_FOUND),
        reset_and_retry(),
    ),
]


def test_every_escalation_has_an_example() -> None:
    assert len(ESCALATION_EXAMPLES) == len(ESCALATIONS)


@pytest.mark.parametrize(
    ("row", "example"),
    list(zip(ESCALATIONS, ESCALATION_EXAMPLES, strict=True)),
    ids=[e[0] for e in ESCALATION_EXAMPLES],
)
def test_each_escalation_is_what_its_example_is_assessed_as(row, example) -> None:  # type: ignore[no-untyped-def]
    _, t, run, past = example
    plain, remembered = assess(t, run, now=NOW, limits=LIMITS), assess(t, run, now=NOW, limits=LIMITS, past=past)
    assert remembered.situation in row.situations and remembered.recommended is row.recommended
    assert (remembered.situation, remembered.allowed) == (plain.situation, plain.allowed)  # Reset stays allowed


def test_wedged_again_after_reset_and_retry_reads_escalate_with_the_step_and_the_time() -> None:
    found = assess(WEDGED_AGAIN, RunObservation(RunStatus.NOT_FOUND), now=NOW, limits=LIMITS, past=reset_and_retry())
    assert found.advice == "Escalate: wedged again at `create_storage` after Reset and Retry at 12:03 UTC"
    assert found.wedged_again and found.allows(Action.RESET) and found.recommended.next_action is None


ORPHANED = RunObservation(RunStatus.NOT_FOUND)
NOT_ESCALATED = [
    ("another step", WEDGED_AGAIN, ORPHANED, reset_and_retry(step="seed_data"), NOW),
    ("a Reset no Retry followed", WEDGED_AGAIN, ORPHANED, Past(at(3), "create_storage", None), NOW),
    ("no past at all", WEDGED_AGAIN, ORPHANED, NO_PAST, NOW),
    ("the Reset over a day ago", WEDGED_AGAIN, ORPHANED, reset_and_retry(), at(3, 12) + timedelta(days=1, seconds=1)),
    ("making progress again", tenant(current_step="create_storage", last_progress_at=at(29)), RUNNING,
     reset_and_retry(), NOW),
]  # fmt: skip


@pytest.mark.parametrize(("name", "t", "run", "past", "now"), NOT_ESCALATED, ids=[e[0] for e in NOT_ESCALATED])
def test_the_guides_recovery_is_recommended_again_unless_it_already_failed_at_that_step(  # type: ignore[no-untyped-def]
    name, t, run, past, now
) -> None:
    found = assess(t, run, now=now, limits=LIMITS, past=past)
    assert found.recommended is not Recommendation.ESCALATE and not found.wedged_again


def test_a_reset_exactly_a_day_ago_still_counts() -> None:
    now = at(3, 12) + AGAIN_WITHIN
    assert assess(WEDGED_AGAIN, ORPHANED, now=now, limits=LIMITS, past=reset_and_retry()).wedged_again


PASTS = [
    ("nothing", [], NO_PAST),
    ("a Reset alone", [event(RESET_DONE, at(5)), event(RESET_STARTED, at(5), step="s")], Past(at(5), "s", None)),
    (
        "a Reset then a Retry",
        [event(RETRY_DONE, at(7)), event(RESET_DONE, at(5)), event(RESET_STARTED, at(5), step="s")],
        Past(at(5), "s", at(7)),
    ),
    (
        "only the newest Reset and its Retry",
        [
            event(RETRY_DONE, at(9)),
            event(RESET_DONE, at(8)),
            event(RESET_STARTED, at(8), step="new"),
            event(RETRY_DONE, at(7)),
            event(RESET_DONE, at(5)),
            event(RESET_STARTED, at(5), step="old"),
        ],
        Past(at(8), "new", at(9)),
    ),
    ("a Retry with no Reset before it", [event(RETRY_DONE, at(7))], NO_PAST),
    ("a Reset recorded before steps were", [event(RETRY_DONE, at(7)), event(RESET_DONE, at(5))],
     Past(at(5), None, at(7))),
]  # fmt: skip


@pytest.mark.parametrize(("name", "feed", "expected"), PASTS, ids=[p[0] for p in PASTS])
def test_the_past_is_read_from_the_newest_reset_and_the_retry_after_it(name: str, feed: list, expected: Past) -> None:
    assert past_of(feed) == expected
