"""The renderers against Slack's limits and mrkdwn: worst-case data still makes one valid message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, Block, StaticSelectElement

from bot.blocks.card import tenant_card, tenant_card_json
from bot.blocks.digest import PAGE, digest_blocks, page_blocks
from bot.blocks.stuck import stuck_list
from bot.text import BUDGET, code, fenced, listing, safe, size
from core.alerting.model import Alert, Digest
from core.decisions import Limits, Situation, assess
from core.domain import Action, Allocation, AuditEvent, RunHandle, RunObservation, RunStatus, Tenant, TenantState
from core.results import TenantView
from tests.e2e.slack_limits import rejection

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SPOOF = "<!channel> see <https://evil.example|runbook> a<b & ```x```"
LONG_ID = "t" + "-x" * 31  # 63 characters, the longest tenant id


def worst_view(problems: tuple[str, ...] = ()) -> TenantView:
    handle = RunHandle(f"provision-{LONG_ID}-999", 999, "r" * 36)
    tenant = Tenant(
        LONG_ID,
        TenantState.PROVISIONING,
        NOW - timedelta(hours=1),
        handle,
        999,
        error=SPOOF * 100,
        failed_activity="a" * 500,
        current_step="s" * 500,
        last_progress_at=NOW - timedelta(minutes=30),
    )
    run = RunObservation(RunStatus.RUNNING, "step", 1, NOW, timedelta(seconds=60))
    allocations = tuple(Allocation(LONG_ID, "k" * 50, SPOOF + str(i), NOW) for i in range(200))
    events = tuple(AuditEvent(LONG_ID, "tenant.provisioning." + "e" * 300, "w" * 300, NOW) for _ in range(60))
    assessment = assess(tenant, run, now=NOW, limits=Limits())
    return TenantView(tenant, run, assessment, allocations, events, problems or ("engine: " + SPOOF * 50,), NOW)


def as_sent(blocks: list[Block]) -> dict[str, Any]:
    return {"text": "x", "blocks": [b.to_dict() for b in blocks]}


def test_the_worst_card_fits_slacks_limits_with_every_button_and_a_long_note() -> None:
    view = worst_view()
    card = tenant_card(view, runbook_url="https://r.example/" + "p" * 900, note="n" * 5000, actions=tuple(Action))
    message = as_sent(card)
    assert rejection(message) is None
    assert len(json.dumps(message["blocks"], ensure_ascii=False)) <= BUDGET
    assert "<!channel>" not in json.dumps(message) and "&lt;!channel&gt;" in json.dumps(message)


@pytest.mark.parametrize("runbook", ["https://r.example", "https://r.example/" + "p" * 900])
def test_the_card_as_json_is_the_card_that_fits_turned_into_json_once(runbook: str) -> None:
    view, note = worst_view(), "n" * 5000
    card = tenant_card(view, runbook_url=runbook, note=note, actions=tuple(Action), run_url="https://t.example/r")
    shown = tenant_card_json(view, runbook_url=runbook, note=note, actions=tuple(Action), run_url="https://t.example/r")
    assert shown == [block.to_dict() for block in card] and rejection({"text": "t", "blocks": shown}) is None


def test_a_card_that_fits_shows_the_whole_short_error() -> None:
    view = worst_view()
    short = TenantView(view.tenant.updated(error="quota exceeded"), *list(vars(view).values())[1:])
    card = json.dumps(as_sent(tenant_card(short, runbook_url="https://r.example", actions=())))
    assert "```quota exceeded```" in card


def test_allocations_that_could_not_be_read_are_unknown() -> None:
    card = json.dumps(
        as_sent(tenant_card(worst_view(("allocations: no answer within 2 s",)), runbook_url="u", actions=()))
    )
    assert "*Allocations*\\nunknown (could not read)" in card


def test_the_wedged_list_shows_what_fits_and_counts_the_rest() -> None:
    tenant = Tenant("x", TenantState.PROVISIONING, NOW, RunHandle("w", 1), 1, error=SPOOF * 100)
    run = RunObservation(RunStatus.RUNNING)
    wedged = {f"t-{i:03d}": assess(tenant, run, now=NOW, limits=Limits()) for i in range(500)}
    message = as_sent(stuck_list(wedged))
    assert rejection(message) is None and len(message["blocks"]) <= 50
    shown = len(message["blocks"]) - 3  # the header, the causes, "…and N more"
    shown_text = json.dumps(message, ensure_ascii=False)
    assert (
        f"…and {500 - shown} more" in shown_text and "<!channel>" not in shown_text and "&lt;!channel&gt;" in shown_text
    )


def test_escaping_never_cuts_inside_an_entity_and_code_keeps_its_fences() -> None:
    assert safe("a<b&c>", 100) == "a&lt;b&amp;c&gt;"
    assert safe("<" * 10, 7) == "&lt;…"
    assert fenced("`" * 50 + "y" * 5000, 100).endswith("…```") and len(fenced("y" * 5000, 100)) == 100
    assert code("a`b<c>") == "`aˋb&lt;c&gt;`"
    assert listing(["one", "two", "three", "four"], 21) == "one, two … and 2 more"


@pytest.mark.parametrize("count", [25, 50, 500, 5000])
def test_a_digest_and_its_pages_fit_one_message_even_with_the_longest_tenant_ids(count: int) -> None:
    opened = datetime.now(UTC)
    members = [
        Alert(f"t{i:05d}-" + "x" * 56, Situation.WEDGED_ORPHANED, "r", opened, id=10_000 + i, digest_id=7)
        for i in range(count)
    ]
    digest = Digest(id=7, opened_at=opened)
    for blocks in (digest_blocks(digest, members), page_blocks(7, members, 0)):
        assert size(blocks) <= BUDGET
    menus, offers = [b.elements for b in digest_blocks(digest, members) if isinstance(b, ActionsBlock)]
    [menu] = menus
    assert isinstance(menu, StaticSelectElement) and menu.options is not None
    assert len(offers) == 2  # the one cause group's Reset all and Reset and Retry all, within the budget
    reachable = len(menu.options) if count <= PAGE else len(menu.options) * PAGE  # members, or pages of them
    shown = json.dumps([b.to_dict() for b in digest_blocks(digest, members)])
    assert reachable >= count or "`/tenant stuck` lists all" in shown


def test_a_digest_of_many_causes_with_long_steps_and_errors_still_fits_one_message() -> None:
    opened = datetime.now(UTC)
    members = [
        Alert(
            f"t{i:05d}-" + "x" * 56,
            Situation.WEDGED_ERROR,
            "r",
            opened,
            id=i,
            digest_id=7,
            step=f"{i % 7}" + "s" * 99,
            error=SPOOF * 20 + str(i % 5),
        )
        for i in range(5000)
    ]
    blocks = digest_blocks(Digest(id=7, opened_at=opened), members)
    shown = json.dumps([b.to_dict() for b in blocks])
    assert size(blocks) <= BUDGET and rejection(as_sent(blocks)) is None
    assert "*By cause:* " in shown and " other" in shown and "<!channel>" not in shown


def test_a_digest_says_which_members_to_escalate_rather_than_reset() -> None:
    opened = datetime.now(UTC)
    again = "Escalate: wedged again at `create_storage` after Reset and Retry at 03:12 UTC. gone"
    members = [Alert(f"t-{i}", Situation.WEDGED_ORPHANED, again if i < 2 else "gone", opened, id=i) for i in range(6)]
    shown = json.dumps(
        [b.to_dict() for b in digest_blocks(Digest(id=7, opened_at=opened), members)], ensure_ascii=False
    )
    assert "Reset, then Retry — except 2 wedged again after Reset and Retry: escalate those." in shown
