"""A Decommission request in Block Kit (bot/blocks/approval.py): the request with the longest reason and actor
there can be fits Slack's limits with its reason escaped, offers Approve (with a confirmation) and Deny in
one block naming the request, and once decided shows who decided and no button."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.blocks.approval import APPROVE, DENY, decided_message, request_message
from bot.text import BUDGET
from core.approval_requests import DecommissionRequest, RequestState
from core.approvals import ApprovalResult
from core.domain import Action
from core.freeze import MAX_REASON
from core.results import ActionResult, Outcome
from tests.e2e.slack_limits import rejection
from tests.unit.test_blocks import NOW, SPOOF

WORST = DecommissionRequest(
    tenant_id="a" * 63,
    requester="W" + "X" * 198,
    reason=(SPOOF * 20)[:MAX_REASON],
    origin_channel="C1",
    requested_at=NOW,
    expires_at=NOW + timedelta(minutes=30),
    request_key="k",
    id=123456789012345678,
)


def buttons(message: dict[str, object]) -> dict[str, dict[str, object]]:
    blocks = json.loads(json.dumps(message["blocks"]))
    return {
        e["action_id"]: {**e, "block": b["block_id"]} for b in blocks if b["type"] == "actions" for e in b["elements"]
    }


def test_the_worst_request_fits_escapes_its_reason_and_offers_approve_and_deny_for_that_request() -> None:
    message = request_message(WORST)
    assert rejection(message) is None and len(json.dumps(message["blocks"], ensure_ascii=False)) <= BUDGET
    assert "<!channel>" not in json.dumps(message)
    offered = buttons(message)
    assert set(offered) == {APPROVE, DENY}
    assert {b["block"] for b in offered.values()} == {f"approval:{WORST.id}:{WORST.tenant_id}"}
    assert {b["value"] for b in offered.values()} == {str(WORST.id)}
    assert "confirm" in offered[APPROVE] and "confirm" not in offered[DENY]


def test_a_request_without_a_reason_says_none_was_given() -> None:
    assert "*Reason:* _none given_" in json.dumps(request_message(replace(WORST, reason=None)))


RAN = ActionResult(Action.DECOMMISSION, "acme", "U2", Outcome.FAILED, "decommission failed: engine: no answer")


@pytest.mark.parametrize(
    ("state", "result", "shown"),
    [
        (RequestState.APPROVED, ApprovalResult(Outcome.FAILED, RAN.message, None, RAN), "Approved by <@U2>"),
        (RequestState.APPROVED, None, "Approved by <@U2>"),
        (RequestState.DENIED, None, "Denied by <@U2>"),
        (RequestState.EXPIRED, None, "Expired at"),
    ],
    ids=["approved-failed", "approved-shown-later", "denied", "expired"],
)
def test_a_decided_request_says_what_became_of_it_and_offers_no_button(
    state: RequestState, result: ApprovalResult | None, shown: str
) -> None:
    decided = replace(WORST, state=state, decided_by="U2", decided_at=NOW, outcome="done: decommission started")
    message = decided_message(decided, result)
    assert rejection(message) is None and buttons(message) == {}
    assert shown in json.dumps(message)
    if result is not None:
        assert ":x: failed: decommission failed: engine: no answer" in json.dumps(message)
