"""Announcements and Take it in Block Kit (bot/blocks/announcement.py, bot/blocks/alert.py): the only
mentions are the ones the bot means (the Slack user who acted, the configured user or user group), data is
escaped, and the owner is shown on the alert within Slack's limits."""

from __future__ import annotations

import json

import pytest

from bot.blocks.alert import alert_blocks, take_answer
from bot.blocks.announcement import announcement_text, auto_batch_text, mention
from core.alerting.controls import TakeOutcome, TakeResult
from core.alerting.model import Alert, Announcement
from core.batches import Batch, Kind, MemberStatus
from core.decisions import Situation
from tests.e2e.slack_limits import rejection
from tests.unit.test_blocks import LONG_ID, NOW, SPOOF, as_sent


@pytest.mark.parametrize(
    ("whom", "shown"), [("U0ONCALL", "<@U0ONCALL>"), ("W0GRID", "<@W0GRID>"), ("S0TEAM", "<!subteam^S0TEAM>")]
)
def test_a_mention_pings_the_user_or_the_user_group(whom: str, shown: str) -> None:
    assert mention(whom) == shown
    line = Announcement("acme-42", whom, NOW, alert_id=7)
    assert announcement_text(line).startswith(f":bell: {shown} nobody has taken the alert for `acme-42`")


def test_an_action_line_says_who_what_where_when_and_why_with_data_escaped() -> None:
    line = Announcement(LONG_ID, "U9", NOW, action="cancel", reason=SPOOF * 20)
    text = announcement_text(line)
    assert text.startswith(f":arrow_forward: <@U9> ran *Cancel* on `{LONG_ID}` at 12:00:00 UTC — reason: ")
    assert "<!channel>" not in text and "<https://" not in text and len(text) < 700


def test_an_action_without_a_reason_says_none_and_a_command_line_actor_is_shown_as_code() -> None:
    text = announcement_text(Announcement("acme-42", "cli:<!here>", NOW, action="reset"))
    assert text == ":arrow_forward: `cli:&lt;!here&gt;` ran *Reset* on `acme-42` at 12:00:00 UTC"


def test_an_action_run_on_someones_behalf_names_them_beside_who_ran_it() -> None:
    text = announcement_text(Announcement("acme-42", "cli:alice", NOW, action="reset", on_behalf_of="U7"))
    assert text == ":arrow_forward: `cli:alice` for <@U7> ran *Reset* on `acme-42` at 12:00:00 UTC"
    named = announcement_text(Announcement("acme-42", "cli:alice", NOW, action="reset", on_behalf_of="bob@example.com"))
    assert named.startswith(":arrow_forward: `cli:alice` for `bob@example.com` ran *Reset*")


def test_the_owner_is_shown_on_the_alert_within_slacks_limits() -> None:
    alert = Alert(LONG_ID, Situation.WEDGED_ERROR, SPOOF * 100, NOW, id=7, owner="W" + "X" * 198, owned_at=NOW)
    message = as_sent(alert_blocks(alert))
    assert rejection(message) is None
    text = json.dumps(message)
    assert "taken by <@W" in text and "at 12:00 UTC" in text and "alert_take" in text


def test_taking_over_says_from_whom() -> None:
    alert = Alert("acme-42", Situation.WEDGED_ERROR, "x", NOW, id=7, owner="U6")
    answer = take_answer(TakeResult(TakeOutcome.TAKEN_OVER, alert, previous="U5"), "acme-42")
    assert "You took over the alert for acme-42 from <@U5>" in answer
    assert "is <@U6>'s now" in take_answer(TakeResult(TakeOutcome.CONTESTED, alert), "acme-42")


def test_an_auto_batch_says_what_it_started_and_how_to_stop_it_with_data_escaped() -> None:
    batch = Batch(
        7, Kind.RESET_RETRY, Situation.WEDGED_ORPHANED, "create_storage", SPOOF, "automatic", 5.0, 5,
        "tenantbot:auto", NOW, counts={MemberStatus.WAITING: 12},
    )  # fmt: skip
    text = auto_batch_text(batch, 38)
    assert "started *batch 7*: Reset and Retry of 12 tenant(s) orphaned at `create_storage`" in text
    assert "(canary: the first 5, the rest once" in text and "38 more" in text
    assert "`tenantbot batch stop 7`" in text
    assert "<!channel>" not in text and "<@U" not in text
