"""What a button carries and what a preview modal keeps (bot/seen_values.py), and the modal itself
(bot/blocks/preview.py): packed small, read back exactly, anything else refused; the modal within Slack's
limits, with the data escaped."""

from __future__ import annotations

import json

import pytest

from bot.blocks.preview import CALLBACK_ID, REASON_BLOCK, field_errors, preview_modal, reason_of
from bot.seen_values import Opened, Tampered, pack, pack_opened, unpack, unpack_opened
from core.decisions import Situation
from core.domain import Action, Allocation, RunHandle
from core.previews import EFFECTS, Preview
from core.seen import Seen
from tests.fakes import at

SEEN = Seen("acme-42", 3, "provision-acme-42-3", "0f6a0a4e-5b1c-4c1e-9b0a-2f6f3c9d1e7a", Situation.WEDGED_ERROR, at(29))
OPENED = Opened(Action.CANCEL, SEEN, "https://hooks.slack.com/actions/T1/1/abc", "C1", "100.0001", True, "card")


def test_a_packed_value_reads_back_as_what_the_card_showed_and_stays_small() -> None:
    for seen in (SEEN, Seen("b", 0, None, None, Situation.PENDING_CLEAN, at(1))):
        assert unpack(pack(seen)) == seen
    longest = Seen("a" * 63, 999999, "decommission-" + "a" * 63 + "-999999", "r" * 80, Situation.HEARTBEAT_LATE, at(1))
    assert unpack(pack(longest)) == longest and len(pack(longest)) < 300  # Slack allows 2,000


@pytest.mark.parametrize(
    "value",
    [
        "acme-42",  # a card drawn before buttons said what they showed
        None,
        42,
        "",
        "acme-42|3|provision-acme-42-3|run|wedged_error",  # a part missing
        "acme-42|3|provision-acme-42-3|run|wedged_error|1|extra",
        "ACME 42|3|provision-acme-42-3|run|wedged_error|1",
        "-acme|3|provision-acme-42-3|run|wedged_error|1",
        "acme-42|²|provision-acme-42-3|run|wedged_error|1",
        "acme-42|3|provision-acme-42-3|run id|wedged_error|1",
        "acme-42|3|provision-acme-42-3|run|exploded|1",
        "acme-42|3|provision-acme-42-3|run|wedged_error|99999999999",
        "acme-42|3|provision-acme-42-3|run|wedged_error|1\n",
    ],
)
def test_anything_pack_would_not_write_is_refused_saying_nothing_ran(value: object) -> None:
    with pytest.raises(Tampered, match=r"nothing ran|not one tenantbot draws"):
        unpack(value)


def test_the_modal_metadata_reads_back_and_a_forged_one_is_refused() -> None:
    assert unpack_opened(pack_opened(OPENED)) == OPENED
    packed = json.loads(pack_opened(OPENED))
    for forged in (
        {**packed, "action": "retry"},  # Retry has no preview
        {**packed, "source": "digest"},
        {**packed, "private": "yes"},
        {**packed, "response_url": "javascript:alert(1)"},
        {**packed, "channel": "C1; drop"},
        {**packed, "ts": 100},
        {**packed, "seen": "acme-42"},
        {k: v for k, v in packed.items() if k != "ts"},
        {**packed, "more": 1},
    ):
        with pytest.raises(Tampered, match="nothing ran"):
            unpack_opened(json.dumps(forged))
    for garbled in ("", "{", "[]", None, 7):
        with pytest.raises(Tampered):
            unpack_opened(garbled)


def test_the_preview_modal_shows_this_tenants_run_allocations_and_end_state_escaped_within_slacks_limits() -> None:
    handle = RunHandle("provision-acme-42-3", 3, SEEN.run_id)
    allocations = tuple(Allocation("acme-42", f"<!channel>{n}", f"vol-{n}" * 20, at(1)) for n in range(200))
    preview = Preview(
        Action.RESET, SEEN, handle, EFFECTS[Action.RESET], allocations, None, Situation.WEDGED_NO_PROGRESS
    )
    modal = preview_modal(preview, pack_opened(OPENED)).to_dict()
    text = json.dumps(modal)
    assert modal["callback_id"] == CALLBACK_ID and len(modal["title"]["text"]) <= 24 and len(modal["blocks"]) <= 100
    assert "provision-acme-42-3" in text and str(SEEN.run_id) in text and "attempt 3" in text and "*pending*" in text
    assert "200 kept" in text and "more" in text and "<!channel>" not in text  # escaped, and cut to fit
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in modal["blocks"])
    assert "the situation changed since the card was drawn" in text  # drawn wedged: error, now no progress
    assert json.loads(modal["private_metadata"])["seen"] == pack(SEEN)


def test_the_reason_is_read_from_the_submitted_state_and_a_problem_goes_under_its_field() -> None:
    view = {"state": {"values": {REASON_BLOCK: {"reason_input": {"type": "plain_text_input", "value": "why"}}}}}
    assert reason_of(view) == "why" and reason_of({"state": {"values": {}}}) == "" and reason_of("x") == ""
    assert field_errors("x" * 400) == {"response_action": "errors", "errors": {REASON_BLOCK: "x" * 149 + "…"}}


def test_a_press_whose_channel_or_message_is_not_shaped_as_slacks_opens_a_modal_without_them() -> None:
    press = {"response_url": OPENED.response_url, "container": {"channel_id": "c1; x", "message_ts": "soon"}}
    opened = Opened.of(Action.RESET, SEEN, press, "alert")
    assert (opened.channel, opened.ts, opened.private) == (None, None, False)  # unsure means shared
    assert unpack_opened(pack_opened(opened)) == opened
