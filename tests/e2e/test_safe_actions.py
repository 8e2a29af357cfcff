"""A card acts on what it showed, and destructive actions are previewed and need a reason: over signed HTTP,
with the Slack stand-in opening the modals and the submissions posted as Slack posts them."""

from __future__ import annotations

import asyncio
import json

from core.decisions import Situation
from core.domain import RunObservation, RunStatus, TenantState
from core.ports import EngineError
from tests.e2e.conftest import Bot
from tests.e2e.situations import make

CARD = "tenant_actions:acme-42"


async def feed(bot: Bot) -> list[str]:
    return [e.type.removeprefix("tenant.provisioning.") for e in reversed(await bot.store.events("acme-42", 50))]


def ran(bot: Bot, call: str) -> list[tuple[str, str]]:
    return [c for c in bot.engine.calls if c[0] == call]


def said(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


async def test_reset_opens_a_preview_of_exactly_what_happens_to_this_tenant_and_runs_nothing_yet(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    shown = await bot.card()
    view = await bot.preview(bot.press_on(shown, "tenant_reset"))
    text = said(view)
    assert "provision-acme-42-1" in text and "attempt 1" in text
    assert "terminated" in text and "*pending*" in text
    assert "no new attempt starts" in text and view["callback_id"] == "tenant_action_preview"
    assert next(b for b in view["blocks"] if b["type"] == "input")["element"]["max_length"] == 500
    assert ran(bot, "terminate") == [] and "reset_started" not in await feed(bot)


async def test_the_submitted_reset_runs_once_with_its_reason_in_the_feed_and_the_engine(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    shown = await bot.card(user="U9")
    view = await bot.preview(bot.press_on(shown, "tenant_reset", user="U9", response="card"))
    submission = bot.submission(view, "wedged since the 03:00 failover", user="U9")
    status, answer, elapsed = await bot.exchange(submission)
    assert (status, answer) == (200, "") and elapsed < 3  # an empty ack closes the modal
    [update] = await bot.slack.wait_for("/response/card")
    assert update.get("replace_original") is True, update
    assert "<@U9> pressed *Reset*" in said(update)
    again, _, _ = await bot.exchange(submission)  # the same submission delivered twice
    await asyncio.sleep(0.5)
    assert again == 200 and len(ran(bot, "terminate")) == 1 and len(bot.slack.sent("/response/card")) == 1
    started = next(e for e in await bot.store.events("acme-42", 20) if e.type.endswith("reset_started"))
    assert started.details["reason"] == "wedged since the 03:00 failover" and started.actor == "U9"
    assert bot.engine.reasons == [
        ("terminate", "provision-acme-42-1", "tenantbot reset by U9: wedged since the 03:00 failover")
    ]


async def test_a_stale_cancel_on_a_card_of_attempt_1_after_reset_and_retry_is_refused_with_what_happened(
    bot: Bot,
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    old = await bot.card(user="U1")  # drawn while attempt 1 is wedged
    await bot.confirm(await bot.card(user="U9"), "tenant_reset", user="U9", response="reset")
    await bot.slack.wait_for("/response/reset")
    reset_card = bot.slack.sent("/response/reset")[-1]
    await bot.post(bot.press_on(reset_card, "tenant_retry", user="U9", response="retry"))
    await bot.slack.wait_for("/response/retry")
    tenant = await bot.store.get("acme-42")
    assert tenant is not None and tenant.attempt == 2
    await bot.post(bot.press_on(old, "tenant_cancel", user="U1", response="stale"))
    [answer] = await bot.slack.wait_for("/response/stale")
    text = said(answer)
    assert "this card is out of date: since" in text and "<@U9> reset and retried" in text
    assert "attempt 2 is in flight, making progress" in text
    assert answer["replace_original"] is True and "tenant_cancel" in said(answer)  # the fresh card in its place
    assert ran(bot, "cancel") == [] and bot.slack.sent("/api/views.open") and len(bot.slack.opened) == 1
    refused = (await bot.store.events("acme-42", 1))[0]
    assert refused.type.endswith("action_refused") and "out of date" in refused.details["reason"]
    assert refused.details["seen"]["attempt"] == 1
    assert bot.engine.runs["provision-acme-42-2"].status is RunStatus.RUNNING


async def test_a_submission_on_a_card_that_went_stale_while_the_modal_was_open_is_refused(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    old = await bot.card(user="U1")
    view = await bot.preview(bot.press_on(old, "tenant_cancel", user="U1", response="old"))
    await bot.confirm(await bot.card(user="U9"), "tenant_reset", user="U9", response="reset")
    await bot.slack.wait_for("/response/reset")
    await bot.exchange(bot.submission(view, "abort it", user="U1"))
    [answer] = await bot.slack.wait_for("/response/old")
    assert "this card is out of date" in said(answer) and "<@U9> reset" in said(answer)
    assert ran(bot, "cancel") == [] and (await feed(bot))[-1] == "action_refused"


async def test_a_changed_situation_on_the_same_run_runs_and_says_what_changed(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.HEARTBEAT_LATE)
    shown = await bot.card()
    assert "tenant_cancel" in said(shown) and "tenant_reset" not in said(shown)
    handle = (await bot.store.get("acme-42")).handle  # type: ignore[union-attr]
    wedged = RunObservation(RunStatus.RUNNING, "run_step", 1, None, None)
    bot.engine.set(handle, wedged)  # the heartbeats stop: now wedged, still attempt 1 on the same run
    await bot.confirm(shown, "tenant_cancel", response="cancel")
    [answer] = await bot.slack.wait_for("/response/cancel")
    assert "done — cancel requested;" in said(answer)
    assert "it was in flight, heartbeat overdue, now wedged: no progress" in said(answer)
    assert len(ran(bot, "cancel")) == 1
    tenant = await bot.store.get("acme-42")
    assert tenant is not None and tenant.state is TenantState.CANCELLING


async def test_an_expired_trigger_is_answered_privately_and_nothing_runs(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    bot.slack.refusals["views.open"] = {"error": "expired_trigger_id"}
    shown = await bot.card()
    status, _ = await bot.post(bot.press_on(shown, "tenant_reset", response="press"))
    [answer] = await bot.slack.wait_for("/response/press")
    assert status == 200 and answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "could not be opened (Slack said expired_trigger_id), so nothing ran" in answer["text"]
    assert ran(bot, "terminate") == [] and "reset_started" not in await feed(bot)


async def test_an_empty_or_too_long_reason_keeps_the_modal_open_with_a_field_error(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    view = await bot.preview(bot.press_on(await bot.card(), "tenant_reset"))
    for reason, error in (
        (None, "Reset needs a reason"),
        ("   ", "Reset needs a reason"),
        ("x" * 501, "keep it to 500"),
    ):
        status, answer, _ = await bot.exchange(bot.submission(view, reason))
        assert status == 200 and json.loads(answer)["response_action"] == "errors"
        assert error in json.loads(answer)["errors"]["reason"]
    assert ran(bot, "terminate") == [] and "reset_started" not in await feed(bot)


async def test_a_forged_form_is_answered_under_the_field_and_runs_nothing(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    view = await bot.preview(bot.press_on(await bot.card(), "tenant_reset"))
    metadata = json.loads(view["private_metadata"])
    for forged in (
        "not json",
        json.dumps({**metadata, "action": "retry"}),
        json.dumps({**metadata, "seen": "Other 1|1|-|-|pending_clean|1"}),
        json.dumps({**metadata, "response_url": "file:///etc/passwd"}),
        json.dumps({**metadata, "extra": 1}),
    ):
        status, answer, _ = await bot.exchange(bot.submission({**view, "private_metadata": forged}, "because"))
        assert status == 200 and "nothing ran" in json.loads(answer)["errors"]["reason"]
    assert ran(bot, "terminate") == []


async def test_a_garbled_button_value_gets_a_clear_answer_never_a_500(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    values = (
        "acme-42",  # a card drawn before buttons said what they showed
        "acme-42|1|provision-acme-42-1|run-1|no_such_situation|1",
        "acme-42|x|provision-acme-42-1|run-1|wedged_no_progress|1",
        "acme-42|1|provision-acme-42-1|run 1|wedged_no_progress|1",
        "",
        "|" * 6,
    )
    for n, value in enumerate(values):
        status, _ = await bot.post(bot.press_body("tenant_cancel", value, CARD, response=f"g{n}"))
        [answer] = await bot.slack.wait_for(f"/response/g{n}")
        assert status == 200 and "nothing ran" in answer["text"] and answer["replace_original"] is False
    assert ran(bot, "cancel") == [] and bot.slack.opened == []


async def test_a_button_of_another_tenants_card_is_refused(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await make(bot.store, bot.engine, "other-1", Situation.WEDGED_NO_PROGRESS)
    value = bot.button(await bot.card("other-1"), "tenant_reset")["value"]
    await bot.post(bot.press_body("tenant_reset", value, CARD, response="moved"))
    [answer] = await bot.slack.wait_for("/response/moved")
    assert "does not belong to that tenant's card" in answer["text"] and bot.slack.opened == []


async def test_an_engine_that_does_not_answer_fails_the_press_before_any_preview_and_audits_it(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    shown = await bot.card()
    bot.engine.fail_with = EngineError("no answer within 1 s")
    await bot.post(bot.press_on(shown, "tenant_reset", response="down"))
    [answer] = await bot.slack.wait_for("/response/down")
    assert "failed — reset not started: engine: no answer within 1 s" in answer["text"]
    assert bot.slack.opened == [] and (await feed(bot))[-1] == "reset_failed"


async def test_a_submission_delivered_twice_at_once_runs_once_and_is_answered_once(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    bot.engine.delay = 0.3  # the first delivery is still running when the copy arrives
    view = await bot.preview(bot.press_on(await bot.card(), "tenant_reset", response="twice"))
    submission = bot.submission(view, "hung")
    statuses = await asyncio.gather(bot.post(submission), bot.post(submission))
    await bot.slack.wait_for("/response/twice")
    await asyncio.sleep(1)
    assert [s for s, _ in statuses] == [200, 200] and len(ran(bot, "terminate")) == 1
    assert len(bot.slack.sent("/response/twice")) == 1 and (await feed(bot)).count("reset_started") == 1
