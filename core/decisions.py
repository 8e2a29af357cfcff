"""The decision table of SPEC.md as data, and the one pure function that reads it.

`assess` first reduces a tenant row and an engine observation to `Facts` (ages measured against
`now`, never the wall clock), then walks `TABLE` top to bottom and takes the first row whose test
holds. The rows are SPEC.md's table; two rows that SPEC states inside one line ("Cancel (if a run is
live)") are split, and four rows cover what SPEC leaves implicit: an operator action already under
way, an engine that could not be asked, a Cancel or Decommission still winding down, and one that
stopped moving (wedged too: Reset frees it, then Retry or Decommission).

A step that the engine keeps timing out on heartbeats is never "making progress": it is "heartbeat
overdue" until `stuck_after`, then "no progress", with the engine's retry count in the reason. (SPEC's
engine notes call this an error without a clean fail; both rows recommend Reset, then Retry and allow
Reset and Cancel. Waiting for `stuck_after` keeps a worker restart from raising alarms.)

The tenant's recent attempts are an input too (`Past`, read from its audit feed: core/attempts.py): a
tenant that wedged again at the same step after a Reset and Retry within a day is not recovered by a
third Reset and Retry. `ESCALATIONS`, applied after `TABLE`, turns such a wedged row's recommendation
into Escalate; its allowed actions stay (Reset remains allowed, it is just no longer the one to press).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.attempts import NO_PAST, Past, wedged_again
from core.domain import OPEN_STATES, Action, RunObservation, RunStatus, Tenant, TenantState
from core.durations import format_duration

RESET, RETRY, CANCEL, DECOMMISSION = Action.RESET, Action.RETRY, Action.CANCEL, Action.DECOMMISSION


class Situation(StrEnum):
    MAKING_PROGRESS = "in flight, making progress"
    HEARTBEAT_LATE = "in flight, heartbeat overdue"
    SLOW_BUT_ALIVE = "in flight, slow but alive"
    WEDGED_NO_PROGRESS = "wedged: no progress"
    WEDGED_ERROR = "wedged: error but no clean fail"
    WEDGED_ORPHANED = "wedged: orphaned handle"
    WEDGED_ENGINE_CLOSED = "wedged: engine closed, row open"
    FAILED_CLEANLY = "failed cleanly"
    PENDING_CLEAN = "pending, clean"
    CANCELLED = "cancelled"
    DONE = "done"
    WINDING_DOWN = "winding down"
    WEDGED_WINDING_DOWN = "wedged: cancel or decommission stopped"
    ACTION_RUNNING = "operator action under way"
    ENGINE_UNREACHABLE = "engine unreachable"

    @property
    def wedged(self) -> bool:
        return self.name.startswith("WEDGED_")

    @property
    def key(self) -> str:
        """Stable identifier for CLI filters, button values and alert episodes."""
        return self.name.lower()

    @classmethod
    def from_key(cls, key: str) -> Situation:
        """The situation whose `key` this is (as a stored alert episode names it); ValueError for any other."""
        found = next((s for s in cls if s.key == key), None)
        if found is None:
            raise ValueError(f"unknown situation {key!r}")
        return found


class Recommendation(StrEnum):
    WAIT = "Wait"
    RESET_THEN_RETRY = "Reset, then Retry"
    RESET_THEN_DECIDE = "Reset, then Retry or Decommission"
    RETRY = "Retry"
    ESCALATE = "Escalate"  # the guide's recovery was tried and did not hold: a human beyond the on-call
    NOTHING = "—"

    @property
    def next_action(self) -> Action | None:
        """The button to press first, if any."""
        return {"RESET_THEN_RETRY": Action.RESET, "RESET_THEN_DECIDE": Action.RESET, "RETRY": Action.RETRY}.get(
            self.name
        )


@dataclass(frozen=True)
class Limits:
    stuck_after: timedelta = timedelta(minutes=10)
    default_heartbeat_timeout: timedelta = timedelta(seconds=60)
    action_lease: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Facts:
    """What the table reads, already measured against `now`."""

    state: TenantState
    has_handle: bool
    engine: RunStatus | None  # None: no handle to ask about, or the engine did not answer
    engine_reachable: bool
    error: str | None  # recorded on the row, or an error the engine keeps retrying
    engine_error: str | None  # only the latter
    hung: str | None  # "create_identity timed out on heartbeats, attempt 4" while no heartbeat arrives
    progress_age: timedelta
    heartbeat_age: timedelta | None
    heartbeat_timeout: timedelta
    stuck_after: timedelta
    claim: str | None  # "reset by U123 for 12 s" while an action holds the lease
    step: str | None  # the step the row says it is at
    again: str | None  # "wedged again at `create_storage` after Reset and Retry at 03:12 UTC", from `Past`

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def live(self) -> bool:
        return self.engine is RunStatus.RUNNING

    @property
    def stalled(self) -> bool:
        return self.progress_age >= self.stuck_after

    @property
    def alive(self) -> bool:
        return self.heartbeat_age is not None and self.heartbeat_age <= self.heartbeat_timeout

    @property
    def silent(self) -> bool:
        return self.heartbeat_age is None or self.heartbeat_age >= self.stuck_after

    @property
    def moving(self) -> bool:
        """A run winding down (compensation, release) counts as moving until it is stalled and silent."""
        return not (self.stalled and self.silent) and self.engine_error is None


@dataclass(frozen=True)
class Assessment:
    situation: Situation
    recommended: Recommendation
    allowed: tuple[Action, ...]
    reason: str
    step: str | None = None  # where it stopped, and its error (row or engine): what its cause is made of
    error: str | None = None
    again: str | None = None  # set when an escalation applied: why the guide's recovery is not offered again

    def allows(self, action: Action) -> bool:
        return action in self.allowed

    @property
    def advice(self) -> str:
        """The recommendation as operators read it: "Escalate: wedged again at `create_storage` after …"."""
        return f"{self.recommended}: {self.again}" if self.again else str(self.recommended)

    @property
    def wedged_again(self) -> bool:
        """Reset and Retry were tried within a day and it wedged at the same step: a batch leaves it out."""
        return self.again is not None


REASON_ERROR_CHARS = 300  # the full error is on the tenant card; reasons travel in lists and alerts


def _short(error: str | None) -> str:
    text = " ".join((error or "").split())
    return text if len(text) <= REASON_ERROR_CHARS else text[: REASON_ERROR_CHARS - 1] + "…"


def _timings(f: Facts) -> str:
    heartbeat = "no heartbeat" if f.heartbeat_age is None else f"last heartbeat {format_duration(f.heartbeat_age)} ago"
    hung = f"; {f.hung}" if f.hung else ""
    return (
        f"no progress for {format_duration(f.progress_age)}, {heartbeat}, "
        f"heartbeat timeout {format_duration(f.heartbeat_timeout)}, stuck after {format_duration(f.stuck_after)}{hung}"
    )


@dataclass(frozen=True)
class Row:
    situation: Situation
    when: Callable[[Facts], bool]
    recommended: Recommendation
    allowed: tuple[Action, ...]
    why: Callable[[Facts], str]


W, R, NONE = Recommendation.WAIT, Recommendation.RETRY, Recommendation.NOTHING
R_R, R_D = Recommendation.RESET_THEN_RETRY, Recommendation.RESET_THEN_DECIDE
S = Situation

# fmt: off
TABLE: tuple[Row, ...] = (
    Row(S.ACTION_RUNNING, lambda f: f.claim is not None, W, (),
        lambda f: f"{f.claim}; wait for it to finish"),
    Row(S.DONE, lambda f: f.state in (TenantState.ACTIVE, TenantState.DECOMMISSIONED), NONE, (),
        lambda f: f"tenant is {f.state}; nothing to do"),
    Row(S.CANCELLED, lambda f: f.state is TenantState.CANCELLED, NONE, (RETRY, DECOMMISSION),
        lambda f: "compensation finished; allocations were released"),
    Row(S.FAILED_CLEANLY, lambda f: f.state is TenantState.FAILED, R, (RETRY, DECOMMISSION),
        lambda f: f"failed cleanly: {_short(f.error) or 'no error recorded'}; Retry starts a fresh attempt"),
    Row(S.PENDING_CLEAN, lambda f: f.state is TenantState.PENDING and not f.has_handle and not f.error, R,
        (RETRY, DECOMMISSION), lambda f: "no live run and no error; Retry starts a fresh attempt"),
    Row(S.ENGINE_UNREACHABLE, lambda f: f.has_handle and not f.engine_reachable, W, (),
        lambda f: "the workflow engine did not answer, so the run cannot be assessed; try again shortly"),
    Row(S.WINDING_DOWN, lambda f: not f.open and f.live and f.moving, W, (),
        lambda f: f"tenant is {f.state}; the engine is releasing its allocations"),
    Row(S.WEDGED_ORPHANED, lambda f: f.engine is RunStatus.NOT_FOUND or (not f.has_handle and not f.error), R_R,
        (RESET,), lambda f: "the row names a workflow the engine does not know; Retry cannot start until Reset"),
    Row(S.WEDGED_ENGINE_CLOSED, lambda f: f.has_handle and not f.live, R_R, (RESET,),
        lambda f: f"the engine says the run is {f.engine} but the row is still {f.state}"),  # also a cancel cut short
    Row(S.WEDGED_WINDING_DOWN, lambda f: not f.open, R_D, (RESET,),
        lambda f: f"tenant is {f.state} but the run stopped moving: {_short(f.engine_error) or _timings(f)}"),
    Row(S.WEDGED_ERROR, lambda f: f.error is not None and f.live, R_R, (RESET, CANCEL),
        lambda f: f"error recorded but no clean fail: {_short(f.error)}; engine still reports the run running"),
    Row(S.WEDGED_ERROR, lambda f: f.error is not None, R_R, (RESET,),
        lambda f: f"error recorded but no clean fail: {_short(f.error)}; no live run"),
    Row(S.MAKING_PROGRESS, lambda f: not f.stalled and not f.hung, W, (CANCEL,),
        lambda f: f"engine reports it running; last step {format_duration(f.progress_age)} ago"),
    Row(S.SLOW_BUT_ALIVE, lambda f: f.alive, W, (CANCEL,),
        lambda f: f"slow but alive: {_timings(f)}; heartbeats still arrive"),
    Row(S.WEDGED_NO_PROGRESS, lambda f: f.silent, R_R, (RESET, CANCEL),
        lambda f: f"stuck: {_timings(f)}; engine still reports it running"),
    Row(S.HEARTBEAT_LATE, lambda f: True, W, (CANCEL,),
        lambda f: f"heartbeat overdue: {_timings(f)}; wedged if nothing arrives by then"),
)
# fmt: on


@dataclass(frozen=True)
class Escalation:
    """A row applied on top of the one `TABLE` chose: a new recommendation, the allowed actions kept."""

    situations: frozenset[Situation]
    when: Callable[[Facts], bool]
    recommended: Recommendation
    why: Callable[[Facts], str | None]


WEDGED = frozenset(s for s in Situation if s.wedged)

# fmt: off
ESCALATIONS: tuple[Escalation, ...] = (
    Escalation(WEDGED, lambda f: f.again is not None, Recommendation.ESCALATE, lambda f: f.again),
)
# fmt: on


def recommended_for(situation: Situation) -> Recommendation:
    """What the table recommends in `situation` (the same in every row of it): alerts carry only the situation."""
    return next(row.recommended for row in TABLE if row.situation is situation)


def facts(tenant: Tenant, run: RunObservation | None, *, now: datetime, limits: Limits, past: Past = NO_PAST) -> Facts:
    """Measure the row and the engine observation against `now`. `run` is None when not asked or not answered."""
    heartbeats = [t for t in (tenant.last_heartbeat_at, run.last_heartbeat if run else None) if t is not None]
    heartbeat_age = now - max(heartbeats) if heartbeats else None
    heartbeat_timeout = (run.heartbeat_timeout if run else None) or limits.default_heartbeat_timeout
    engine_error = run.engine_error if run else None
    claim = tenant.claim
    claim_text = None
    if claim is not None and now - claim.since < limits.action_lease:
        claim_text = f"{claim.action} by {claim.actor} under way for {format_duration(now - claim.since)}"
    return Facts(
        state=tenant.state,
        has_handle=tenant.handle is not None,
        engine=run.status if run else None,
        engine_reachable=run is not None,
        error=tenant.error or engine_error,
        engine_error=engine_error,
        hung=_hung(run, heartbeat_age, heartbeat_timeout),
        progress_age=now - (tenant.last_progress_at or tenant.created_at),
        heartbeat_age=heartbeat_age,
        heartbeat_timeout=heartbeat_timeout,
        stuck_after=limits.stuck_after,
        claim=claim_text,
        step=tenant.current_step,
        again=wedged_again(tenant, past, now),
    )


def _hung(run: RunObservation | None, heartbeat_age: timedelta | None, timeout: timedelta) -> str | None:
    """The engine's own verdict that a step stopped heartbeating, while no heartbeat has arrived since."""
    if run is None or not run.heartbeat_timed_out or run.activity_attempt < 2:
        return None
    if heartbeat_age is not None and heartbeat_age <= timeout:
        return None  # the retried attempt is beating again
    return f"the engine timed out {run.pending_activity} on heartbeats, now at attempt {run.activity_attempt}"


def assess(
    tenant: Tenant, run: RunObservation | None, *, now: datetime, limits: Limits, past: Past = NO_PAST
) -> Assessment:
    """The first row of `TABLE` that holds for this tenant at `now`, then the first of `ESCALATIONS` that
    applies to it, if any (`past`: the tenant's last Reset and Retry, `past_of` its audit feed)."""
    f = facts(tenant, run, now=now, limits=limits, past=past)
    row = next(row for row in TABLE if row.when(f))
    found = Assessment(row.situation, row.recommended, row.allowed, row.why(f), f.step, f.error)
    for up in ESCALATIONS:
        if row.situation in up.situations and up.when(f):
            return Assessment(
                row.situation, up.recommended, row.allowed, found.reason, f.step, f.error, again=up.why(f)
            )
    return found


def refusal(action: Action, assessment: Assessment) -> str:
    """Why `action` cannot run now, in the words an operator needs ("Reset first")."""
    if action is Action.RETRY and assessment.situation.wedged:
        return f"Reset first: {assessment.situation}. {assessment.reason}"
    allowed = ", ".join(a.value.capitalize() for a in assessment.allowed) or "none"
    name = action.value.capitalize()
    return f"{name} is not allowed now ({assessment.situation}: {assessment.reason}). Allowed: {allowed}"
