"""Safe actions against in-memory fakes: what a card showed (core/seen.py) decides whether a press still acts on
it, what happened since is read from the audit feed, the preview says what an action does to this tenant
(core/previews.py), and the reason is recorded and given to the engine."""

from __future__ import annotations

import pytest

from core.decisions import Situation
from core.domain import Action, AuditEvent, RunObservation, RunStatus, Tenant, TenantState, provisioning_handle
from core.freeze import InvalidReason
from core.previews import EFFECTS, PREVIEWED, Fate, Preview, parse_action_reason
from core.results import ActionResult, Outcome
from core.seen import Seen, Staleness, situation_note, staleness
from core.service import TenantService
from tests.fakes import FakeEngine, InMemoryStore, at
from tests.unit.test_service import HANDLE, NOW, wedged

S = Situation


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def service(store: InMemoryStore, engine: FakeEngine) -> TenantService:
    return TenantService(store, engine, clock=lambda: NOW)


def seen(**changes: object) -> Seen:
    values: dict[str, object] = {
        "tenant_id": "acme",
        "attempt": 1,
        "workflow_id": HANDLE.workflow_id,
        "run_id": None,
        "situation": S.WEDGED_NO_PROGRESS,
        "at": at(29),
    }
    return Seen(**{**values, **changes})  # type: ignore[arg-type]


def started(action: Action, actor: str, minute: int) -> AuditEvent:
    return AuditEvent("acme", f"tenant.provisioning.{action.value}_started", actor, at(minute))


def test_what_happened_since_names_who_did_what_after_the_card_was_drawn_oldest_first() -> None:
    events = [started(Action.RETRY, "U9", 31), started(Action.RESET, "U9", 30), started(Action.CANCEL, "U2", 20)]
    events.append(AuditEvent("acme", "tenant.provisioning.step_completed", "workflow:x", at(32)))
    now = Tenant("acme", TenantState.PROVISIONING, at(0), handle=provisioning_handle("acme", 2), attempt=2)
    stale = staleness(seen(), now, S.MAKING_PROGRESS, events)
    assert stale.text() == (
        "this card is out of date: since 12:29 UTC U9 reset and retried; attempt 2 is in flight, making progress"
    )
    assert not seen().same_run(now) and seen(attempt=2, workflow_id="provision-acme-2").same_run(now)
    two = Staleness(at(29), (("U1", Action.RESET), ("U2", Action.RETRY)), 2, S.MAKING_PROGRESS)
    assert two.what(lambda who: f"@{who}") == "@U1 reset, then @U2 retried"
    nobody = Staleness(at(29), (), 2, S.WEDGED_ORPHANED)
    assert "moved on to another run (no operator action recorded)" in nobody.text()


def test_a_changed_situation_on_the_same_run_is_said_and_an_unchanged_one_is_not() -> None:
    assert situation_note(seen(), S.WEDGED_NO_PROGRESS) is None
    assert situation_note(seen(situation=S.HEARTBEAT_LATE), S.WEDGED_NO_PROGRESS) == (
        "the situation changed since the card was drawn at 12:29 UTC: it was in flight, heartbeat overdue, "
        "now wedged: no progress"
    )


async def test_a_press_on_a_card_of_another_attempt_is_refused_audited_and_runs_nothing(
    service: TenantService, store: InMemoryStore, engine: FakeEngine
) -> None:
    await wedged(store, engine, attempt=2, handle=provisioning_handle("acme", 2))
    await store.append([started(Action.RETRY, "U9", 25)])
    result = await service.act(Action.CANCEL, "acme", "U1", request_key="k", seen=seen(at=at(20)), reason="abort")
    assert result.outcome is Outcome.REFUSED and result.stale is not None and result.view is not None
    assert (
        result.message == "this card is out of date: since 12:20 UTC U9 retried; attempt 2 is wedged: orphaned handle"
    )
    refused = store.audit[-1]
    assert refused.type.endswith("action_refused") and refused.details["seen"]["attempt"] == 1
    assert not [c for c in engine.calls if c[0] == "cancel"] and not await store.seen_request("k")


async def test_a_press_on_a_card_whose_run_was_reset_away_is_refused(
    service: TenantService, store: InMemoryStore, engine: FakeEngine
) -> None:
    await wedged(store, engine, state=TenantState.PENDING, handle=None)
    result = await service.act(Action.RESET, "acme", "U1", seen=seen())
    assert result.outcome is Outcome.REFUSED and "out of date" in result.message


async def test_the_same_run_in_another_situation_runs_and_the_answer_says_what_changed(
    service: TenantService, store: InMemoryStore, engine: FakeEngine
) -> None:
    await wedged(store, engine)
    result = await service.act(Action.CANCEL, "acme", "U1", seen=seen(situation=S.HEARTBEAT_LATE), reason="abort")
    assert result.outcome is Outcome.DONE
    assert result.message.endswith("it was in flight, heartbeat overdue, now wedged: no progress")


async def test_the_reason_is_recorded_with_the_start_and_given_to_the_engine(
    service: TenantService, store: InMemoryStore, engine: FakeEngine
) -> None:
    await wedged(store, engine)
    await service.act(Action.RESET, "acme", "U1", seen=seen(), reason="hung since the failover")
    first = next(e for e in store.audit if e.type.endswith("reset_started"))
    assert first.details["reason"] == "hung since the failover"
    assert engine.reasons == [("terminate", HANDLE.workflow_id, "tenantbot reset by U1: hung since the failover")]


async def test_without_a_reason_the_engine_is_still_told_who_asked(
    service: TenantService, store: InMemoryStore, engine: FakeEngine
) -> None:
    await wedged(store, engine)
    await service.act(Action.CANCEL, "acme", "cli:alice")
    assert engine.reasons == [("cancel", HANDLE.workflow_id, "tenantbot cancel by cli:alice")]
    assert "reason" not in next(e for e in store.audit if e.type.endswith("cancel_started")).details


async def test_the_preview_of_reset_names_the_run_the_allocations_kept_and_the_state_it_ends_in(
    service: TenantService, store: InMemoryStore, engine: FakeEngine
) -> None:
    await wedged(store, engine)
    shown = await service.preview(Action.RESET, seen(), "U1")
    assert isinstance(shown, Preview)
    assert shown.run == HANDLE and shown.effect.allocations is Fate.KEPT and shown.effect.ends_in is TenantState.PENDING
    assert [(a.kind, a.resource_id) for a in shown.allocations or ()] == [("storage", "vol-1")]
    assert "no new attempt starts: press Retry afterwards" in shown.effect.not_done and shown.starts is None
    assert store.types("acme") == [] and engine.reasons == []  # a preview changes nothing


async def test_the_preview_of_decommission_names_the_workflow_it_starts(
    service: TenantService, store: InMemoryStore, engine: FakeEngine
) -> None:
    await wedged(store, engine, state=TenantState.FAILED, error="quota")
    engine.set(HANDLE, RunObservation(RunStatus.FAILED))
    shown = await service.preview(Action.DECOMMISSION, seen(situation=S.FAILED_CLEANLY), "U1")
    assert isinstance(shown, Preview) and shown.starts is not None
    assert shown.starts.workflow_id == "decommission-acme-1" and shown.effect.allocations is Fate.RELEASED


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        ({"attempt": 2}, "this card is out of date"),
        ({"state": TenantState.CANCELLED}, "Reset is not allowed now"),
    ],
)
async def test_a_preview_that_could_not_run_is_refused_and_audited(
    service: TenantService, store: InMemoryStore, engine: FakeEngine, setup: dict[str, object], says: str
) -> None:
    await wedged(store, engine, **setup)  # type: ignore[arg-type]
    shown = await service.preview(Action.RESET, seen(), "U1")
    assert isinstance(shown, ActionResult) and shown.outcome is Outcome.REFUSED and says in shown.message
    assert store.types("acme") == ["action_refused"]


def test_every_previewed_action_says_what_it_does_and_what_it_does_not() -> None:
    assert {Action.RESET, Action.CANCEL, Action.DECOMMISSION} == PREVIEWED
    assert all(effect.run and effect.not_done for effect in EFFECTS.values())
    assert EFFECTS[Action.CANCEL].allocations is Fate.RELEASED and EFFECTS[Action.RESET].allocations is Fate.KEPT


@pytest.mark.parametrize(
    ("raw", "problem"),
    [(None, "Reset needs a reason"), ("  \n ", "Reset needs a reason"), ("x" * 501, "keep it to 500"),
     ("a\x1b[2Jb", "control character")],
)  # fmt: skip
def test_a_reason_must_be_one_line_of_1_to_500_characters(raw: str | None, problem: str) -> None:
    with pytest.raises(InvalidReason, match=problem):
        parse_action_reason(raw, Action.RESET)
    assert parse_action_reason("  wedged \n since  03:00 ", Action.RESET) == "wedged since 03:00"
    assert parse_action_reason("x" * 500, Action.RESET) == "x" * 500
