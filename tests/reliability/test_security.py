"""Security (issue 13), against a real `serve` whose allow-lists name who may Reset and Cancel: forged,
stale and replayed requests; a press by someone outside the allow-list; a button whose value names
another tenant than its card, or an action the card did not offer. Each is refused (401, or a private
answer saying why), runs nothing, and a replayed submission runs once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.serving import press_body, signed_headers, submission_body
from tests.integration.temporal.processes import DevServer
from tests.reliability.conftest import ACK_BUDGET, Background, World, said, world

pytestmark = [pytest.mark.slow, pytest.mark.temporal]
OPERATOR, STRANGER = "U0OPS", "U0STRANGER"


@pytest.fixture(scope="module")
async def guarded(
    tmp_path_factory: pytest.TempPathFactory, background: Background, engine: DevServer
) -> AsyncIterator[World]:
    directory = tmp_path_factory.mktemp("security")
    # Retry: everyone (the default); Decommission: nobody (the default)
    async with world(directory, background, engine, RESET_USERS=OPERATOR, CANCEL_USERS=OPERATOR) as built:
        await asyncio.gather(built.wedged("sec-1", "sec-2"), built.provision("slow@2", "sec-busy"))
        await built.until_card_says("sec-busy", "slow but alive")
        yield built


def standing(w: World) -> tuple[dict[str, tuple[Any, ...]], list[str]]:
    """What a refused request must leave as it was: each tenant's state, run and claim, and every audit
    event but refusals (a slow tenant's heartbeats may move meanwhile)."""
    fields = ("state", "workflow_id", "run_id", "attempt", "error", "claim_action")
    rows = {t: tuple(w.db.tenant(t)[f] for f in fields) for t in ("sec-1", "sec-2", "sec-busy")}
    _, kinds = w.db.snapshot()
    return rows, sorted(k for k in kinds.elements() if k not in ("action_refused", "step_completed", "allocated"))


def reset_press(w: World, name: str, tenant_id: str = "sec-2", **button: str) -> str:
    pressed = {"action_id": "tenant_reset", "block_id": f"tenant_actions:{tenant_id}", "value": tenant_id}
    return press_body(
        {**pressed, "action_ts": f"{time.time():.6f}", **button}, w.slack.response_url(name), user=OPERATOR
    )


FORGERIES: dict[str, dict[str, Any]] = {
    "signed with another secret": {"secret": "not-the-signing-secret"},
    "stale: signed six minutes ago": {"timestamp": int(time.time()) - 360},
    "signed ten years ahead": {"timestamp": int(time.time()) + 10 * 365 * 86400},
    "no signature": {"headers": {"X-Slack-Signature": ""}},
}


@pytest.mark.parametrize("forgery", [*FORGERIES, "body changed after signing"])
async def test_a_forged_or_stale_press_gets_401_and_runs_nothing(guarded: World, forgery: str) -> None:
    before = standing(guarded)
    name = guarded.name("forged")
    body = reset_press(guarded, name)
    if forgery == "body changed after signing":
        signing: dict[str, Any] = {"headers": signed_headers(body)}
        body = reset_press(guarded, name, tenant_id="sec-1")
    else:
        signing = dict(FORGERIES[forgery])
        if forgery.startswith("stale"):
            signing["timestamp"] = int(time.time()) - 360
    sent = await guarded.post(body, name=name, **signing)
    assert (sent.status, sent.ack < ACK_BUDGET) == (401, True)
    assert guarded.messages(name) == [] and standing(guarded) == before


async def test_a_replayed_submission_runs_once_and_is_answered_once(guarded: World) -> None:
    name = guarded.name("replayed")
    before = len(guarded.slack.calls)
    press = await guarded.post(reset_press(guarded, name, tenant_id="sec-1", value=guarded.shown("sec-1")), name=name)
    assert press.status == 200
    # the press opens the preview; its submission is what runs, and what is replayed
    view = await guarded.preview_or_answer(name, before)
    assert view is not None, "the press opened no preview"
    body = submission_body(view, reason="replay me", user=OPERATOR)
    signed_at = int(time.time())
    first = await guarded.post(body, name=name, timestamp=signed_at)
    assert "done — reset" in said(await guarded.answer(first))
    replays = await asyncio.gather(
        *(guarded.post(body, name=name, timestamp=signed_at) for _ in range(3)),  # the same bytes, the same signature
        guarded.post(body, name=name, timestamp=signed_at, headers={"X-Slack-Retry-Num": "1"}),
    )
    assert [r.status for r in replays] == [200] * 4  # validly signed within 5 minutes: acked, and dropped
    assert guarded.db.kinds("sec-1", "reset_") == ["reset_started", "reset_completed"]
    await asyncio.sleep(1)  # what the replays would answer has arrived by now
    assert len(guarded.messages(name)) == 1


async def test_a_press_by_someone_outside_the_allow_list_is_refused_audited_and_runs_nothing(guarded: World) -> None:
    card = said(await guarded.answer(await guarded.command("sec-2", user=STRANGER)))
    assert "wedged: no progress" in card and "tenant_reset" not in card  # not offered to them in the first place
    for action, tenant_id in (("reset", "sec-2"), ("cancel", "sec-busy")):
        before = standing(guarded)
        sent = await guarded.press(action, tenant_id, user=STRANGER)
        answer = said(await guarded.answer(sent))
        assert "refused — " in answer and "not on the list" in answer, answer[:400]
        assert standing(guarded) == before
        latest = guarded.db.events(tenant_id)[-1]
        assert (latest.kind, latest.actor, latest.details.get("action")) == ("action_refused", STRANGER, action)


@pytest.mark.parametrize(
    ("action", "tenant_id", "button", "answered"),
    [
        ("reset", "sec-2", {"value": "sec-busy"}, "does not belong to that tenant"),  # the value names another tenant
        ("reset", "sec-2", {"block_id": "tenant_actions:sec-busy"}, "does not belong to that tenant"),
        ("reset", "sec-busy", {}, "Reset is not allowed now"),  # slow but alive: only Cancel is offered
        ("retry", "sec-2", {}, "Reset first"),  # wedged: only Reset and Cancel are offered
        ("decommission", "sec-2", {}, "Nobody may decommission"),  # offered to nobody
        ("destroy", "sec-2", {}, "does not know this button"),  # no such action
    ],
)
async def test_a_button_naming_another_tenant_or_an_action_not_offered_is_refused_and_runs_nothing(
    guarded: World, action: str, tenant_id: str, button: dict[str, str], answered: str
) -> None:
    before = standing(guarded)
    button = {k: guarded.shown(v) if k == "value" else v for k, v in button.items()}  # as that tenant's card has it
    sent = await guarded.press(action, tenant_id, user=OPERATOR, button=button)
    answer = said(await guarded.answer(sent))
    assert (sent.status, sent.ack < ACK_BUDGET, answered in answer) == (200, True, True), answer[:400]
    assert standing(guarded) == before
