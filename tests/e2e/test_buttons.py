"""The card's buttons over signed HTTP: in-place updates, refusals, tampering, authorization, retries.
Reset, Cancel and Decommission go through their preview (`Bot.act` submits it as the presser would)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from core.authz import AllowList, Policy
from core.decisions import Situation
from core.domain import Action, TenantState
from tests.e2e.conftest import DEFAULT_POLICY, Bot, running_bot
from tests.e2e.situations import make
from tests.fakes import InMemoryStore

CARD = "tenant_actions:acme-42"


async def events_of(bot: Bot) -> list[str]:
    return [e.type.removeprefix("tenant.provisioning.") for e in reversed(await bot.store.events("acme-42", 50))]


async def test_reset_runs_and_the_card_is_replaced_in_place_with_who_did_what(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.act("tenant_reset", user="U9")
    [update] = await bot.slack.wait_for("/response/r1")
    assert update["replace_original"] is True
    assert update["blocks"][0]["text"]["text"] == "acme-42 · pending"
    assert "<@U9> pressed *Reset*" in str(update["blocks"]) and "done — reset" in str(update["blocks"])
    assert {e["action_id"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]} == {
        "tenant_retry",
        "tenant_share",
    }  # Decommission is allowed by the situation, but nobody may run it under the default settings
    assert ("terminate", "provision-acme-42-1") in bot.engine.calls
    assert (await events_of(bot))[-2:] == ["reset_started", "reset_completed"]
    assert (await bot.store.events("acme-42", 1))[0].actor == "U9"


async def test_a_button_on_an_old_card_is_refused_with_the_current_state(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.MAKING_PROGRESS)
    await bot.act("tenant_reset")
    [update] = await bot.slack.wait_for("/response/r1")
    assert "refused — Reset is not allowed now (in flight, making progress" in str(update["blocks"])
    assert bot.slack.opened == []  # refused before any preview
    assert not [c for c in bot.engine.calls if c[0] == "terminate"]
    assert (await events_of(bot))[-1] == "action_refused"


async def test_retry_on_a_wedged_tenant_says_reset_first(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    await bot.act("tenant_retry")
    [update] = await bot.slack.wait_for("/response/r1")
    assert "refused — Reset first" in str(update["blocks"])


async def test_a_tampered_button_value_is_refused_and_runs_nothing(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    await make(bot.store, bot.engine, "other-1", Situation.WEDGED_ORPHANED)
    other = await bot.shown("other-1")  # the value of other-1's Reset, moved onto acme-42's card
    bot.engine.calls.clear()
    await bot.post(bot.press_body("tenant_reset", other, CARD))
    [reply] = await bot.slack.wait_for("/response/r1")
    assert "does not belong to that tenant's card" in reply["text"] and reply["replace_original"] is False
    assert bot.engine.calls == []


async def test_an_unknown_action_id_is_acked_answered_privately_and_not_run(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    status, _ = await bot.post(bot.press_body("tenant_delete_everything", "acme-42", CARD))
    assert status == 200  # a 404 would show the user Slack's generic error
    [reply] = await bot.slack.wait_for("/response/r1")
    assert "does not know this button" in reply["text"] and reply["response_type"] == "ephemeral"
    assert reply["replace_original"] is False and bot.engine.calls == []


async def test_a_retried_delivery_of_the_same_submission_runs_once(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    body = await bot.act("tenant_reset")
    await bot.slack.wait_for("/response/r1")
    first = 200
    again, _ = await bot.post(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    await asyncio.sleep(0.5)
    assert (first, again) == (200, 200)
    assert [c for c in bot.engine.calls if c[0] == "terminate"] == [("terminate", "provision-acme-42-1")]
    assert len(bot.slack.sent("/response/r1")) == 1
    assert (await events_of(bot)).count("reset_started") == 1


async def test_two_people_confirming_reset_at_once_run_it_once(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    shown, bodies = await bot.shown(), []
    for n, user in enumerate(("U1", "U2", "U3"), start=1):  # three previews of the same card
        await bot.post(bot.press_body("tenant_reset", shown, CARD, user=user, response=user))
        await bot.slack.wait_for("/api/views.open", count=n)
        bodies.append(bot.submission(bot.slack.opened[-1], f"{user} saw it wedged", user=user))
    await asyncio.gather(*(bot.post(b) for b in bodies))
    for user in ("U1", "U2", "U3"):
        await bot.slack.wait_for(f"/response/{user}")
    assert [c for c in bot.engine.calls if c[0] == "terminate"] == [("terminate", "provision-acme-42-1")]
    assert (await events_of(bot)).count("reset_completed") == 1


async def test_decommission_is_refused_until_an_admin_list_is_set_and_the_refusal_is_audited(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
    await bot.act("tenant_decommission", user="U5")
    [update] = await bot.slack.wait_for("/response/r1")
    assert "refused — Nobody may decommission from Slack until an admin list is configured" in update["text"]
    assert "decommission" not in [c[0] for c in bot.engine.calls]
    refused = (await bot.store.events("acme-42", 1))[0]
    assert refused.type.endswith("action_refused") and refused.actor == "U5"


async def test_an_admin_by_user_group_may_ask_for_a_decommission_which_waits_for_a_second_person(
    tmp_path: Path,
) -> None:
    admins = AllowList.parse("S0ADMINS")
    policy = Policy({**DEFAULT_POLICY.allowed, Action.DECOMMISSION: admins})
    async with running_bot(tmp_path, policy=policy) as bot:
        bot.slack.group_members["S0ADMINS"] = ["U5"]
        await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
        await bot.act("tenant_decommission", user="U6", response="outsider")
        [refused] = await bot.slack.wait_for("/response/outsider")
        assert "not on the list of people allowed to decommission" in str(refused["blocks"])
        await bot.act("tenant_decommission", user="U5", response="admin")  # the preview, with a reason
        [asked] = await bot.slack.wait_for("/response/admin")
        assert "done — Decommission of acme-42 requested" in asked["text"] and "<#C1>" in asked["text"]
        await bot.slack.wait_for("/api/chat.postMessage")
        [posted] = [m for m in bot.slack.sent("/api/chat.postMessage") if "Approve" in str(m.get("blocks"))]
        assert posted["channel"] == "C1" and "wedged since the failover" in str(posted["blocks"])
        tenant = await bot.store.get("acme-42")
        assert tenant is not None and tenant.state is TenantState.FAILED  # nothing ran yet
        assert len(bot.slack.sent("/api/usergroups.users.list")) == 1  # cached for the second press


async def test_share_posts_the_card_in_the_channel(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ERROR)
    await bot.post(bot.press_body("tenant_share", "acme-42", CARD, user="U3"))
    [shared] = await bot.slack.wait_for("/response/r1")
    assert shared["response_type"] == "in_channel" and "Shared by <@U3>" in str(shared["blocks"])


def button_ids(message: dict) -> set[str]:
    return {e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]}


ADMINS = Policy({**DEFAULT_POLICY.allowed, Action.DECOMMISSION: AllowList.parse("S0ADMINS")})


async def test_decommission_is_offered_only_to_those_who_may_run_it(tmp_path: Path) -> None:
    async with running_bot(tmp_path, policy=ADMINS) as bot:
        bot.slack.group_members["S0ADMINS"] = ["U5"]
        await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
        await bot.post(bot.command_body("acme-42", user="U5", response="admin"))
        await bot.post(bot.command_body("acme-42", user="U6", response="outsider"))
        await bot.post(bot.press_body("tenant_share", "acme-42", CARD, user="U6", response="shared"))
        [admin] = await bot.slack.wait_for("/response/admin")
        [outsider] = await bot.slack.wait_for("/response/outsider")
        [shared] = await bot.slack.wait_for("/response/shared")
        assert "tenant_decommission" in button_ids(admin) and "tenant_decommission" not in button_ids(outsider)
        assert "tenant_decommission" in button_ids(shared)  # someone in the channel may run it


async def test_a_shared_card_does_not_offer_what_nobody_may_run(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
    await bot.post(bot.press_body("tenant_share", "acme-42", CARD, user="U3"))
    [shared] = await bot.slack.wait_for("/response/r1")
    assert button_ids(shared) == {"tenant_retry", "tenant_share"}


async def test_a_refusal_on_a_shared_card_answers_the_presser_only_and_leaves_the_card(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.MAKING_PROGRESS)
    await bot.act("tenant_reset", ephemeral=False)
    [reply] = await bot.slack.wait_for("/response/r1")
    assert reply["replace_original"] is False and reply["response_type"] == "ephemeral" and "blocks" not in reply
    assert "refused — Reset is not allowed now" in reply["text"]


async def test_a_failed_group_lookup_is_refused_with_try_again_audited_and_not_cached(tmp_path: Path) -> None:
    async with running_bot(tmp_path, policy=ADMINS) as bot:
        bot.slack.group_members["S0ADMINS"] = ["U5"]
        bot.slack.fail("usergroups.users.list", (500, {}))
        await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
        await bot.act("tenant_decommission", user="U5", response="first")
        [first] = await bot.slack.wait_for("/response/first")
        assert "Couldn't check your user groups" in str(first)
        refused = (await bot.store.events("acme-42", 1))[0]
        assert refused.type.endswith("action_refused") and "Couldn't check" in refused.details["reason"]
        await bot.act("tenant_decommission", user="U5", response="second")
        [second] = await bot.slack.wait_for("/response/second")
        assert "done — Decommission of acme-42 requested" in second["text"]
        assert len(bot.slack.sent("/api/usergroups.users.list", ok_only=False)) == 2


async def test_a_hung_group_lookup_is_answered_within_seconds(tmp_path: Path) -> None:
    async with running_bot(tmp_path, policy=ADMINS) as bot:
        # past the lookup's limit (3 s); the stand-in waits it out before it stops
        bot.slack.delays["usergroups.users.list"] = 6
        await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
        started = time.monotonic()
        await bot.act("tenant_decommission", user="U5")
        [reply] = await bot.slack.wait_for("/response/r1", timeout=8)
        assert time.monotonic() - started < 5 and "Couldn't check your user groups" in str(reply)
        assert "decommission" not in [c[0] for c in bot.engine.calls]


async def test_a_press_while_the_database_hangs_keeps_the_card_and_says_so(tmp_path: Path) -> None:
    store = InMemoryStore()
    async with running_bot(tmp_path, store=store) as bot:
        await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
        shown = await bot.shown()
        store.delay = 30
        await bot.post(bot.press_body("tenant_reset", shown, CARD))
        [reply] = await bot.slack.wait_for("/response/r1", timeout=8)
        assert reply["replace_original"] is False and reply["response_type"] == "ephemeral"
        assert "failed — database: no answer within 1 s" in reply["text"] and "card was left as it was" in reply["text"]
        assert bot.slack.opened == []  # no preview of a tenant that could not be read
        assert not [c for c in bot.engine.calls if c[0] == "terminate"]


async def test_a_redelivered_refused_press_is_answered_and_audited_once(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
    body = bot.press_body("tenant_decommission", await bot.shown(), CARD)
    await bot.post(body)
    await bot.slack.wait_for("/response/r1")
    status, _ = await bot.post(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    await asyncio.sleep(0.5)
    assert status == 200 and len(bot.slack.sent("/response/r1")) == 1
    assert (await events_of(bot)).count("action_refused") == 1


async def test_a_press_for_a_tenant_that_does_not_exist_records_nothing(bot: Bot) -> None:
    value = "ghost-1|1|-|-|pending_clean|1764460800"  # well formed, for a tenant that is not there
    await bot.post(bot.press_body("tenant_decommission", value, "tenant_actions:ghost-1"))
    [reply] = await bot.slack.wait_for("/response/r1")
    assert "No tenant `ghost-1`" in reply["text"] and reply["replace_original"] is False
    assert await bot.store.events("ghost-1", 10) == []


async def test_each_press_answers_with_one_use_of_its_response_url(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    for action in ("tenant_reset", "tenant_retry", "tenant_cancel", "tenant_reset"):
        await bot.act(action)
        await bot.slack.wait_for("/response/r1", count=len(bot.slack.sent("/response/r1")) + 1)
    assert bot.slack.response_uses["r1"] == 4
