"""The read-only switch in Block Kit (bot/blocks/freeze.py): cards, alerts and digests while frozen show
the freeze's banner and no action button, within Slack's limits and with the reason escaped; the answers
to `/tenant freeze` and `/tenant unfreeze` are announced when the switch flipped and private otherwise."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.blocks.alert import alert_blocks
from bot.blocks.card import tenant_card
from bot.blocks.digest import digest_blocks
from bot.blocks.freeze import switch_answer
from bot.text import BUDGET
from core.alerting.model import Alert, Digest
from core.decisions import Situation
from core.domain import Action
from core.freeze import MAX_REASON, Freeze, SwitchOutcome, SwitchResult
from tests.e2e.slack_limits import rejection
from tests.unit.test_blocks import NOW, SPOOF, as_sent, worst_view

FROZEN = Freeze("W" + "X" * 198, NOW, (SPOOF * 20)[:MAX_REASON])  # the longest actor and reason there can be


def action_ids(message: dict[str, object]) -> set[str]:
    blocks = json.loads(json.dumps(message["blocks"]))
    return {e.get("action_id") for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_the_worst_frozen_card_fits_shows_the_freeze_escaped_and_offers_no_action() -> None:
    view = replace(worst_view(), frozen=FROZEN)
    message = as_sent(tenant_card(view, runbook_url="https://r.example", note="n" * 5000, actions=tuple(Action)))
    assert rejection(message) is None and len(json.dumps(message["blocks"], ensure_ascii=False)) <= BUDGET
    assert action_ids(message) == {"tenant_share"}
    text = json.dumps(message)
    assert "tenantbot is frozen (read-only)" in text and "<!channel>" not in text


def test_a_frozen_alert_keeps_take_it_details_and_snooze_but_no_reset() -> None:
    alert = Alert("acme-42", Situation.WEDGED_ORPHANED, "gone", NOW, id=7, frozen=FROZEN)
    message = as_sent(alert_blocks(alert, run_url="https://temporal.example/run"))
    assert rejection(message) is None
    assert action_ids(message) == {"alert_take", "alert_details", "open_in_temporal", "alert_snooze"}
    assert "tenantbot is frozen (read-only)" in json.dumps(message)
    thawed = as_sent(alert_blocks(replace(alert, frozen=None)))
    assert "alert_reset" in action_ids(thawed) and "frozen" not in json.dumps(thawed)


def test_a_frozen_digest_shows_the_freeze_and_keeps_its_menu() -> None:
    members = [Alert(f"t{i}", Situation.WEDGED_ORPHANED, "gone", NOW, id=i, digest_id=1) for i in range(30)]
    message = as_sent(digest_blocks(Digest(1, NOW, frozen=FROZEN), members))
    assert rejection(message) is None and "tenantbot is frozen (read-only)" in json.dumps(message)
    assert action_ids(message) == {"alert_page"}


@pytest.mark.parametrize(
    ("result", "kind", "says"),
    [
        (SwitchResult(SwitchOutcome.FROZEN, FROZEN), "in_channel", "<@U1> froze tenantbot (read-only)"),
        (SwitchResult(SwitchOutcome.UNFROZEN, FROZEN), "in_channel", "<@U1> unfroze tenantbot: actions run again"),
        (SwitchResult(SwitchOutcome.ALREADY_FROZEN, FROZEN), "ephemeral", "already frozen, so nothing changed"),
        (SwitchResult(SwitchOutcome.NOT_FROZEN), "ephemeral", "not frozen; nothing changed"),
        (SwitchResult(SwitchOutcome.REFUSED, reason="<!here> no"), "ephemeral", ":no_entry: &lt;!here&gt; no"),
    ],
)
def test_a_flip_is_announced_in_the_channel_and_anything_else_is_private(
    result: SwitchResult, kind: str, says: str
) -> None:
    answer = switch_answer(result, "U1")
    assert answer["response_type"] == kind and says in answer["text"]
    assert "<!channel>" not in answer["text"] and "<!here>" not in answer["text"]
