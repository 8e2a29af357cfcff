"""Who may press which button (core/authz.py): the allow-lists, the buttons a card offers, and the
authorizer asking the directory for the groups that decide."""

from __future__ import annotations

from core.authz import LOOKUP_FAILED, AllowList, Authorizer, NoDirectory, Policy
from core.domain import Action
from tests.fakes import FakeDirectory

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


async def test_a_member_of_an_allowed_group_is_authorized_and_only_the_deciding_groups_are_asked() -> None:
    directory = FakeDirectory({"S0ADMINS": {"U5"}})
    authorizer = Authorizer(ADMINS, directory)
    assert await authorizer.refusal(DECOMMISSION, "U5") is None
    assert await authorizer.refusal(RESET, "U5") is None
    assert directory.asked == [frozenset({"S0ADMINS"}), frozenset()]


async def test_someone_on_no_list_is_refused_with_a_reason_that_names_the_allow_list_not_a_setting() -> None:
    refusal = await Authorizer(ADMINS, FakeDirectory()).refusal(DECOMMISSION, "U6")
    nobody = await Authorizer(DEFAULT, FakeDirectory()).refusal(DECOMMISSION, "U6")
    assert refusal is not None and "not on the list of people allowed to decommission" in refusal.reason
    assert nobody is not None and "Nobody may decommission from Slack until an admin list is" in nobody.reason
    assert not refusal.unchecked and "_USERS" not in refusal.reason + nobody.reason


async def test_a_directory_that_cannot_answer_refuses_a_press_but_a_card_keeps_what_a_group_grants() -> None:
    directory = FakeDirectory({"S0ADMINS": {"U5"}})
    directory.down = True
    authorizer = Authorizer(ADMINS, directory)
    refusal = await authorizer.refusal(DECOMMISSION, "U5")
    assert refusal is not None and refusal.unchecked and refusal.reason == LOOKUP_FAILED
    assert await authorizer.offered((RETRY, DECOMMISSION), "U6") == (RETRY, DECOMMISSION)


async def test_the_buttons_offered_follow_the_viewer_s_groups_or_what_someone_may_run() -> None:
    authorizer = Authorizer(ADMINS, FakeDirectory({"S0ADMINS": {"U5"}}))
    assert await authorizer.offered((RETRY, DECOMMISSION), "U5") == (RETRY, DECOMMISSION)
    assert await authorizer.offered((RETRY, DECOMMISSION), "U6") == (RETRY,)
    assert await authorizer.offered((RETRY, DECOMMISSION), None) == (RETRY, DECOMMISSION)


async def test_without_a_user_directory_a_list_naming_a_group_cannot_be_checked_and_names_still_decide() -> None:
    named = Policy({**ADMINS.allowed, RESET: AllowList.parse("U07")})
    authorizer = Authorizer(named, NoDirectory())
    refusal = await authorizer.refusal(DECOMMISSION, "U5")
    assert refusal is not None and refusal.unchecked
    assert await authorizer.refusal(RESET, "U07") is None and await authorizer.refusal(RETRY, "U5") is None
    assert await authorizer.refusal(RESET, "U5") is not None
