"""Which buttons a card offers: the situation's actions filtered by who may run them (core/authz.py)."""

from __future__ import annotations

from core.authz import AllowList, Policy
from core.domain import Action

RESET, RETRY, CANCEL, DECOMMISSION = Action.RESET, Action.RETRY, Action.CANCEL, Action.DECOMMISSION
DEFAULT = Policy({a: AllowList(everyone=True) for a in (RESET, RETRY, CANCEL)})
ADMINS = Policy({**DEFAULT.allowed, DECOMMISSION: AllowList.parse("S0ADMINS U07")})


def test_nobody_is_offered_an_action_whose_allow_list_is_empty() -> None:
    assert DEFAULT.offered((RETRY, DECOMMISSION), "U1", frozenset()) == (RETRY,)
    assert DEFAULT.offered((RETRY, DECOMMISSION)) == (RETRY,)


def test_a_viewer_is_offered_what_they_may_run_by_name_or_by_group() -> None:
    assert ADMINS.offered((RETRY, DECOMMISSION), "U07", frozenset()) == (RETRY, DECOMMISSION)
    assert ADMINS.offered((RETRY, DECOMMISSION), "U5", frozenset({"S0ADMINS"})) == (RETRY, DECOMMISSION)
    assert ADMINS.offered((RETRY, DECOMMISSION), "U5", frozenset()) == (RETRY,)


def test_unknown_group_membership_keeps_what_a_group_could_grant_and_the_press_decides() -> None:
    assert ADMINS.offered((RETRY, DECOMMISSION), "U5", None) == (RETRY, DECOMMISSION)
    assert DEFAULT.offered((RETRY, DECOMMISSION), "U5", None) == (RETRY,)


def test_a_card_everyone_sees_offers_what_someone_may_run() -> None:
    assert ADMINS.offered((RESET, CANCEL, DECOMMISSION)) == (RESET, CANCEL, DECOMMISSION)


def test_only_the_groups_that_decide_are_looked_up() -> None:
    assert DEFAULT.groups_deciding((RESET, RETRY, DECOMMISSION)) == frozenset()
    assert ADMINS.groups_deciding((RETRY, DECOMMISSION)) == frozenset({"S0ADMINS"})
