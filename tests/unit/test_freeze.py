"""The read-only switch (core/freeze.py) against in-memory fakes: while frozen every action is refused in
the service, whoever asks (a Slack press, the CLI's direct call), refused and audited with who froze it,
when and why; a switch that cannot be read refuses too; the view carries the switch; freezing from the
chat is for the admin allow-list; reasons are one clean line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.authz import AllowList, Authorizer, Policy
from core.domain import Action
from core.freeze import Freeze, InvalidReason, Switch, SwitchOutcome, parse_reason
from core.presses import Presses
from core.results import Outcome
from core.service import TenantService
from tests.fakes import FakeDirectory, FakeEngine, InMemoryFreezes, InMemoryStore
from tests.unit.test_service import NOW, wedged

ADMINS = AllowList(users=frozenset({"U1"}), groups=frozenset({"S0ADMINS"}))
EVERYONE = Policy({a: AllowList(everyone=True) for a in Action}, admins=ADMINS)

Parts = tuple[InMemoryStore, FakeEngine, InMemoryFreezes, FakeDirectory, Presses]


@pytest.fixture
def parts() -> Parts:
    store, engine, freezes, directory = InMemoryStore(), FakeEngine(), InMemoryFreezes(), FakeDirectory()
    directory.members = {"S0ADMINS": {"U2"}}
    service = TenantService(store, engine, clock=lambda: NOW, switch=Switch(freezes, clock=lambda: NOW))
    return store, engine, freezes, directory, Presses(service, Authorizer(EVERYONE, directory))


class TestActionsWhileFrozen:
    async def test_a_press_while_frozen_is_refused_with_who_when_and_why_audited_and_runs_nothing(
        self, parts: Parts
    ) -> None:
        store, engine, _, _, presses = parts
        await wedged(store, engine)
        await presses.service.switch.freeze("U1", "database failover")
        result = await presses.press(Action.RESET, "acme", "U5", request_key="U5:1")
        assert result.outcome is Outcome.REFUSED
        assert result.message == "tenantbot is frozen (read-only) by U1 since 12:30 UTC: database failover"
        [refused] = [e for e in store.audit if e.type.endswith("action_refused")]
        assert (refused.actor, refused.details) == ("U5", {"action": "reset", "reason": result.message})
        assert store.types("acme") == ["action_refused"]  # no reset_started: nothing was claimed
        assert not [c for c in engine.calls if c[0] == "terminate"]
        assert result.view is not None and result.view.frozen is not None  # the card shows the freeze

    @pytest.mark.parametrize("action", list(Action))
    async def test_every_action_called_directly_as_the_cli_does_is_refused_while_frozen(
        self, parts: Parts, action: Action
    ) -> None:
        store, engine, _, _, presses = parts
        await wedged(store, engine)
        await presses.service.switch.freeze("cli:alice", "incident 42")
        result = await presses.service.act(action, "acme", "cli:bob")
        assert result.outcome is Outcome.REFUSED and "frozen (read-only) by cli:alice" in result.message
        assert {call for call, _ in engine.calls} == {"describe"}  # looked, changed nothing

    async def test_a_switch_that_cannot_be_read_refuses_the_action_and_says_why(self, parts: Parts) -> None:
        store, engine, freezes, _, presses = parts
        await wedged(store, engine)
        freezes.down = True
        result = await presses.service.act(Action.RESET, "acme", "U5")
        assert result.outcome is Outcome.FAILED
        assert result.message == "reset not started: read-only switch: database unavailable (fake)"
        assert store.types("acme") == [] and not [c for c in engine.calls if c[0] == "terminate"]

    async def test_once_unfrozen_the_same_press_runs(self, parts: Parts) -> None:
        store, engine, _, _, presses = parts
        await wedged(store, engine)
        await presses.service.switch.freeze("U1", "look first")
        await presses.service.switch.unfreeze("U1")
        result = await presses.press(Action.RESET, "acme", "U5", request_key="U5:1")
        assert result.outcome is Outcome.DONE and result.view is not None and result.view.frozen is None

    async def test_a_press_for_a_tenant_that_does_not_exist_records_nothing_while_frozen(self, parts: Parts) -> None:
        store, _, _, _, presses = parts
        await presses.service.switch.freeze("U1", "look first")
        result = await presses.service.act(Action.RESET, "nobody", "U5")
        assert result.outcome is Outcome.REFUSED and store.audit == []

    async def test_a_redelivered_press_while_frozen_is_a_duplicate_and_audited_once(self, parts: Parts) -> None:
        store, engine, _, _, presses = parts
        await wedged(store, engine)
        await presses.press(Action.RESET, "acme", "U5", request_key="U5:1")
        await presses.service.switch.freeze("U1", "look first")
        again = await presses.press(Action.RESET, "acme", "U5", request_key="U5:1")
        assert again.outcome is Outcome.DUPLICATE and store.types("acme").count("action_refused") == 0


class TestTheView:
    async def test_the_view_carries_the_freeze_in_force(self, parts: Parts) -> None:
        store, engine, _, _, presses = parts
        await wedged(store, engine)
        assert (await presses.service.view("acme")).frozen is None
        await presses.service.switch.freeze("U1", "look first")
        assert (await presses.service.view("acme")).frozen == Freeze("U1", NOW, "look first")

    async def test_a_view_whose_switch_cannot_be_read_names_it_and_still_shows_the_tenant(self, parts: Parts) -> None:
        store, engine, freezes, _, presses = parts
        await wedged(store, engine)
        freezes.down = True
        view = await presses.service.view("acme")
        assert view.frozen is None and view.problems == ("read-only switch: database unavailable (fake)",)


class TestFlippingIt:
    async def test_a_second_freeze_keeps_the_first_and_an_unfreeze_lifts_it_once(self, parts: Parts) -> None:
        switch = parts[4].service.switch
        first = await switch.freeze("U1", "first")
        second = await switch.freeze("U2", "second")
        assert (first.outcome, second.outcome) == (SwitchOutcome.FROZEN, SwitchOutcome.ALREADY_FROZEN)
        assert second.freeze == Freeze("U1", NOW, "first")
        lifted, again = await switch.unfreeze("U2"), await switch.unfreeze("U2")
        assert (lifted.outcome, again.outcome) == (SwitchOutcome.UNFROZEN, SwitchOutcome.NOT_FROZEN)
        assert lifted.freeze == Freeze("U1", NOW, "first") and parts[2].kept[0][1] == "U2"

    @pytest.mark.parametrize("user", ["U1", "U2"])  # named, or in a group on the admin allow-list
    async def test_an_admin_may_freeze_and_unfreeze_from_the_chat(self, parts: Parts, user: str) -> None:
        presses = parts[4]
        assert (await presses.freeze(user, "look first")).outcome is SwitchOutcome.FROZEN
        assert (await presses.unfreeze(user)).outcome is SwitchOutcome.UNFROZEN

    async def test_someone_not_on_the_admin_allow_list_may_not_freeze_or_unfreeze(self, parts: Parts) -> None:
        presses, freezes = parts[4], parts[2]
        refused = await presses.freeze("U5", "let me")
        assert refused.outcome is SwitchOutcome.REFUSED and "not on the admin allow-list" in (refused.reason or "")
        await presses.freeze("U1", "look first")
        assert (await presses.unfreeze("U5")).outcome is SwitchOutcome.REFUSED
        assert [f.by for f, lifted_by in freezes.kept if lifted_by is None] == ["U1"]

    async def test_by_default_nobody_may_freeze_from_the_chat_and_the_answer_points_to_the_cli(self) -> None:
        service = TenantService(InMemoryStore(), FakeEngine(), switch=Switch(InMemoryFreezes(), clock=lambda: NOW))
        refused = await Presses(service, Authorizer(Policy(), FakeDirectory())).freeze("U1", "look first")
        assert refused.outcome is SwitchOutcome.REFUSED and "`tenantbot freeze`" in (refused.reason or "")

    async def test_an_admin_whose_groups_cannot_be_read_is_told_to_try_again(self, parts: Parts) -> None:
        directory, presses = parts[3], parts[4]
        directory.down = True
        refused = await presses.freeze("U2", "look first")
        assert refused.outcome is SwitchOutcome.REFUSED and "try again" in (refused.reason or "")

    async def test_a_bad_reason_is_refused_and_records_nothing(self, parts: Parts) -> None:
        refused = await parts[4].freeze("U1", "   ")
        assert refused.outcome is SwitchOutcome.REFUSED and "needs a reason" in (refused.reason or "")
        assert parts[2].kept == []


class TestReasons:
    def test_a_reason_is_one_line_with_its_white_space_collapsed(self) -> None:
        assert parse_reason("  db\n failover\tin progress ") == "db failover in progress"

    @pytest.mark.parametrize(
        ("raw", "why"), [("", "needs a reason"), ("x" * 501, "keep it to 500"), ("a\x1b[2Jb", "control character")]
    )
    def test_an_empty_overlong_or_escaping_reason_is_refused(self, raw: str, why: str) -> None:
        with pytest.raises(InvalidReason, match=why):
            parse_reason(raw)

    def test_a_freeze_from_another_day_names_its_date(self) -> None:
        freeze = Freeze("U1", NOW - timedelta(days=1), "long incident")
        assert freeze.refusal(NOW) == "tenantbot is frozen (read-only) by U1 since 2026-11-23 12:30 UTC: long incident"
