"""What happens when a button is pressed (core/presses.py): the presser is authorized, a refusal is
audited with its reason only for a tenant that exists, and an authorized press runs once under its key."""

from __future__ import annotations

import pytest

from core.authz import AllowList, Authorizer, Policy
from core.domain import Action
from core.presses import Presses
from core.results import Outcome, TenantNotFound
from core.service import TenantService
from tests.fakes import FakeDirectory, FakeEngine, InMemoryStore
from tests.unit.test_service import NOW, wedged

POLICY = Policy({Action.RESET: AllowList(users=frozenset({"U1"}), groups=frozenset({"S0ONCALL"}))})


Parts = tuple[InMemoryStore, FakeEngine, FakeDirectory, Presses]


@pytest.fixture
def parts() -> Parts:
    store, engine, directory = InMemoryStore(), FakeEngine(), FakeDirectory({"S0ONCALL": {"U2"}})
    service = TenantService(store, engine, clock=lambda: NOW)
    return store, engine, directory, Presses(service, Authorizer(POLICY, directory))


async def test_a_press_by_someone_allowed_by_name_or_group_runs_once_under_its_request_key(parts: Parts) -> None:
    store, engine, _, presses = parts
    await wedged(store, engine)
    first = await presses.press(Action.RESET, "acme", "U2", request_key="U2:1")
    again = await presses.press(Action.RESET, "acme", "U2", request_key="U2:1")
    assert (first.outcome, again.outcome) == (Outcome.DONE, Outcome.DUPLICATE)
    assert store.types("acme").count("reset_started") == 1


async def test_a_press_by_someone_not_allowed_is_refused_audited_with_its_reason_and_runs_nothing(
    parts: Parts,
) -> None:
    store, engine, _, presses = parts
    await wedged(store, engine)
    result = await presses.press(Action.RESET, "acme", "U3", request_key="U3:1")
    assert result.outcome is Outcome.REFUSED and "not on the list of people allowed to reset" in result.message
    [refused] = [e for e in store.audit if e.type.endswith("action_refused")]
    assert (refused.actor, refused.details["reason"]) == ("U3", result.message)
    assert result.view is not None and result.view.events[0].type.endswith("action_refused")
    assert not [c for c in engine.calls if c[0] == "terminate"]


async def test_a_press_whose_groups_cannot_be_read_is_refused_with_try_again_and_audited(parts: Parts) -> None:
    store, engine, directory, presses = parts
    await wedged(store, engine)
    directory.down = True
    result = await presses.press(Action.RESET, "acme", "U2", request_key="U2:1")
    assert result.outcome is Outcome.REFUSED and "try again" in result.message
    assert store.types("acme")[-1] == "action_refused"


async def test_a_refused_press_for_a_tenant_that_does_not_exist_records_nothing(parts: Parts) -> None:
    store, _, _, presses = parts
    with pytest.raises(TenantNotFound):
        await presses.press(Action.RESET, "nobody", "U3", request_key="U3:1")
    assert store.audit == []
