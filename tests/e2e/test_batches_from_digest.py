"""Batches from a digest, as Slack drives them: the digest the scan posts offers "Reset all N" and "Reset
and Retry all N" per cause group; a press opens the preview; its submission (even delivered twice) starts
one batch that runs to its end against the test engine, its progress edited in the digest's thread; Stop
stops it; a freeze hides the buttons and refuses a press."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.batch_runs import BatchRuns
from bot.blocks.batch import CANARY_BLOCK, CANARY_INPUT, OFFER_BLOCK, RATE_BLOCK, RATE_INPUT
from core import events as ev
from core.alerting.batch_groups import cause_key
from core.alerting.scanner import Scanner
from core.authz import AllowList, Policy
from core.auto_recovery import AutoRecovery
from core.batch_runner import BatchRunner
from core.batches import Batch, BatchStatus, MemberStatus
from core.causes import Cause
from core.decisions import Situation
from core.domain import Action, AuditEvent
from tests.e2e.conftest import Bot, now, running_bot
from tests.e2e.serving import submission_body
from tests.e2e.situations import make
from tests.e2e.test_metrics_and_logs import scrape, value

REASON = "cluster reset at 03:10"


async def incident(bot: Bot) -> None:
    """7 orphaned at one step, 3 failing on the same upstream error, one hung alone, and two that wedged
    again after a Reset and Retry (a group of their own: a human decides for those)."""
    for i in range(7):
        await make(bot.store, bot.engine, f"orphan-{i}", Situation.WEDGED_ORPHANED, current_step="create_storage")
    for i in range(3):
        error = f"upstream API returned 500 for 'api-{i}'"
        await make(
            bot.store, bot.engine, f"api-{i}", Situation.WEDGED_ERROR, current_step="configure_network", error=error
        )
    await make(bot.store, bot.engine, "hung-1", Situation.WEDGED_NO_PROGRESS, current_step="seed_data")
    reset_at = now() - timedelta(hours=2)
    for i in range(2):
        tenant = await make(
            bot.store, bot.engine, f"again-{i}", Situation.WEDGED_ORPHANED, current_step="bind_domain", attempt=2
        )
        await bot.store.append(
            [
                AuditEvent(tenant.id, ev.started(Action.RESET), "U4", reset_at, {"step": "bind_domain"}),
                AuditEvent(tenant.id, ev.completed(Action.RESET), "U4", reset_at),
                AuditEvent(tenant.id, ev.completed(Action.RETRY), "U4", reset_at + timedelta(minutes=1)),
            ]
        )


def parsed(blocks: Any) -> list[dict[str, Any]]:
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def offers(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e for b in parsed(message["blocks"]) if b.get("block_id", "").startswith("batch_offer:") for e in b["elements"]
    ]


async def posted_digest(bot: Bot) -> dict[str, Any]:
    await incident(bot)
    assert (await bot.scanner.tick()).opened == 13
    [digest] = bot.slack.sent("/api/chat.postMessage")
    return digest


async def finished(bot: Bot, count: int = 1) -> list[Batch]:
    """The batches once `count` of them have ended and this process's runs are over, their last edits and
    metrics included (waiting up to 20 s)."""
    runs = bot.deps.batch_runs
    for _ in range(400):
        batches = await bot.database.batches.recent(10)
        ended = len([b for b in batches if b.status is not BatchStatus.RUNNING]) >= count
        if ended and (runs is None or not runs.tasks):
            return batches
        await asyncio.sleep(0.05)
    raise AssertionError(f"the batches did not end: {batches}")


async def test_a_digest_offers_both_batches_for_each_cause_group_of_two_or_more_that_did_not_wedge_again(
    bot: Bot,
) -> None:
    digest = await posted_digest(bot)
    texts = [b["text"]["text"] for b in offers(digest)]
    assert texts == [
        "Reset all 7 orphaned at create_storage",
        "Reset and Retry all 7 orphaned at create_storage",
        "Reset all 3 wedged at configure_network: upstream API returned 500 for '…'",
        "Reset and Retry all 3 wedged at configure_network: upstream API returned 5…",  # cut at Slack's 75
    ]  # not the lone hung tenant, not the two that wedged again at bind_domain
    values = {b["value"] for b in offers(digest)}
    assert all(len(v) < 32 for v in values) and len(values) == 2  # a digest id and a cause key, nothing else


async def test_pressing_reset_and_retry_all_opens_a_preview_of_the_group(bot: Bot) -> None:
    digest = await posted_digest(bot)
    view = await bot.preview(bot.press_on(digest, "digest_batch_reset_retry"))
    text = json.dumps(view["blocks"])
    assert view["title"]["text"] == "Reset and Retry all 7" and "*Reset and Retry 7 tenants* orphaned at" in text
    assert all(f"`orphan-{i}`" in text for i in range(7))
    assert "nothing is rolled back: no compensation runs" in text  # the single Reset's words
    assert "no new attempt starts" not in text  # the batch's Retry starts it
    inputs = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert inputs == {"reason": None, "batch_rate": "5", "batch_canary": "5"}

    reset_only = await bot.preview(bot.press_on(digest, "digest_batch_reset", response="r2"), 2)
    assert "batch_canary" not in json.dumps(reset_only["blocks"])  # a Reset alone has no canary


async def test_a_submission_delivered_twice_runs_one_batch_to_its_end_with_its_progress_in_the_thread(
    bot: Bot,
) -> None:
    digest = await posted_digest(bot)
    view = await bot.preview(bot.press_on(digest, "digest_batch_reset_retry"))
    # no canary: the test engine's retries never get past the step, so a canary would wait for good
    submission = submission_body(view, reason=REASON, typed={CANARY_BLOCK: (CANARY_INPUT, "0")})
    answers = await asyncio.gather(bot.exchange(submission), bot.exchange(submission))
    assert [status for status, _, _ in answers] == [200, 200]

    [batch] = await finished(bot)
    assert (batch.status, batch.count(MemberStatus.DONE), batch.total) == (BatchStatus.FINISHED, 7, 7)
    assert batch.reason == REASON and batch.canary == 0 and batch.rate == 5
    for i in range(7):
        tenant = await bot.store.get(f"orphan-{i}")
        assert tenant is not None and tenant.attempt == 2  # one reset and one new attempt each
        events = await bot.store.events(f"orphan-{i}", 50)
        started = [e for e in events if e.type == ev.started(Action.RESET)]
        assert len(started) == 1 and started[0].details["reason"] == REASON
        assert started[0].details["batch"] == batch.id

    posted = await bot.database.alerts.digest(int(offers(digest)[0]["value"].split(":")[0]))
    assert posted is not None and posted.message_ref is not None
    digest_ts = posted.message_ref.split("/")[1]
    thread = [m for m in bot.slack.sent("/api/chat.postMessage") if m.get("thread_ts") == digest_ts]
    assert len([m for m in thread if m["text"].startswith("Batch ")]) == 1  # one progress message
    edits = [u for u in bot.slack.sent("/api/chat.update") if u["text"].startswith("Batch ")]
    assert len({u["ts"] for u in edits}) == 1  # always the same message
    last = json.dumps(edits[-1]["blocks"])
    assert "Finished: 7/7 reset and retried, 0 refused, 0 failed" in last and "batch_stop" not in last
    assert "retries: 0 past the step, 0 wedged again" in last  # the test engine's retries stay at the first step
    samples = await scrape(bot)  # /metrics: the batch's progress, by kind, never its id
    assert value(samples, "tenantbot_batch_members_total", kind="reset-retry", status="done") == 7
    assert value(samples, "tenantbot_batches_ended_total", kind="reset-retry", status="finished") == 1
    assert value(samples, "tenantbot_batches_running") == 0

    await bot.scanner.tick()  # the reset members' alerts resolve
    ahead = await bot.store.get("orphan-0")  # one retry gets past the step; another's run is lost again
    lost = await bot.store.get("orphan-1")
    assert ahead is not None and lost is not None and lost.handle is not None
    await bot.store.save(ahead.updated(current_step="seed_data", last_progress_at=now()), [])
    bot.engine.runs.pop(lost.handle.workflow_id)  # a while ago: past the engine's visibility grace
    await bot.store.save(lost.updated(last_progress_at=now() - timedelta(hours=1)), [])
    await bot.scanner.tick()
    assert bot.deps.batch_offers is not None
    assert await bot.deps.batch_offers.retries(batch) == "retries: 1 past the step, 1 wedged again"


def stop_button(message: dict[str, Any]) -> dict[str, Any]:
    return next(
        {**e, "block_id": b["block_id"]}
        for b in parsed(message["blocks"])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "batch_stop"
    )


async def test_stop_ends_a_batch_after_the_member_under_way_and_says_so(bot: Bot) -> None:
    digest = await posted_digest(bot)
    view = await bot.preview(bot.press_on(digest, "digest_batch_reset"))
    await bot.post(submission_body(view, reason=REASON, typed={RATE_BLOCK: (RATE_INPUT, "1")}))
    [first] = await bot.slack.wait_for("/api/chat.update", timeout=10)  # after the first member or two
    assert value(await scrape(bot), "tenantbot_batches_running") == 1
    stop = stop_button(first)
    await bot.post(bot.press_body("batch_stop", stop["value"], stop["block_id"], response="rs"))
    [answer] = await bot.slack.wait_for("/response/rs")
    assert "stops after the member under way" in answer["text"]

    [batch] = await finished(bot)
    assert batch.status is BatchStatus.STOPPED and batch.note == "stopped by U1"
    assert 0 < batch.count(MemberStatus.DONE) < 7 and batch.count(MemberStatus.WAITING) > 0
    samples = await scrape(bot)
    done = batch.count(MemberStatus.DONE)
    assert value(samples, "tenantbot_batch_members_total", kind="reset", status="done") == done
    assert value(samples, "tenantbot_batches_ended_total", kind="reset", status="stopped") == 1
    last = json.dumps(bot.slack.sent("/api/chat.update")[-1]["blocks"])
    assert "Stopped (stopped by U1)" in last and "batch_stop" not in last
    events = await bot.store.events("orphan-0", 50)
    assert any(e.type == ev.BATCH_STOP and e.actor == "U1" for e in events)  # audited


async def test_a_frozen_tenantbot_offers_no_batch_and_refuses_a_press_from_an_older_digest(bot: Bot) -> None:
    await bot.service.switch.freeze("U9", "database failover")
    digest = await posted_digest(bot)
    assert offers(digest) == []
    digest_id = (await bot.scanner.alerts.open_alerts())[0].digest_id
    key = cause_key(Cause(Situation.WEDGED_ORPHANED, "create_storage"))
    await bot.post(bot.press_body("digest_batch_reset", f"{digest_id}:{key}", OFFER_BLOCK.format(digest_id)))
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "database failover" in answer["text"] and bot.slack.opened == []
    assert await bot.database.batches.recent(5) == []


async def test_a_rate_a_batch_cannot_take_keeps_the_preview_open_with_the_problem_under_the_field(bot: Bot) -> None:
    digest = await posted_digest(bot)
    view = await bot.preview(bot.press_on(digest, "digest_batch_reset"))
    status, answer, _ = await bot.exchange(submission_body(view, reason=REASON, typed={RATE_BLOCK: (RATE_INPUT, "0")}))
    assert status == 200 and json.loads(answer)["errors"] == {
        RATE_BLOCK: "give more than 0 and at most 100 tenants per second"
    }
    status, answer, _ = await bot.exchange(submission_body(view, reason=None))
    assert "needs a reason" in json.loads(answer)["errors"]["reason"]
    assert await bot.database.batches.recent(5) == []


async def test_a_forged_batch_button_is_refused_and_nothing_opens(bot: Bot) -> None:
    digest = await posted_digest(bot)
    [button, *_] = offers(digest)
    block = next(b["block_id"] for b in parsed(digest["blocks"]) if b.get("block_id", "").startswith("batch_offer:"))
    await bot.post(bot.press_body("digest_batch_reset", button["value"] + "|x", block))
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "not one tenantbot drew" in answer["text"] and bot.slack.opened == []


async def test_a_batch_and_its_stop_need_the_allow_list_of_each_of_its_actions(tmp_path: Path) -> None:
    policy = Policy({Action.RESET: AllowList(everyone=True), Action.RETRY: AllowList(users=frozenset({"U1"}))})
    async with running_bot(tmp_path, policy=policy) as bot:
        digest = await posted_digest(bot)
        await bot.post(bot.press_on(digest, "digest_batch_reset_retry", user="U2"))
        [answer] = await bot.slack.wait_for("/response/r1")
        assert "not on the list of people allowed to retry" in answer["text"] and bot.slack.opened == []
        view = await bot.preview(bot.press_on(digest, "digest_batch_reset", user="U2", response="r2"))
        assert view["title"]["text"] == "Reset all 7"

        view = await bot.preview(bot.press_on(digest, "digest_batch_reset_retry", user="U1", response="r3"), 2)
        typed = {RATE_BLOCK: (RATE_INPUT, "1"), CANARY_BLOCK: (CANARY_INPUT, "0")}
        await bot.post(submission_body(view, reason=REASON, user="U1", typed=typed))
        [shown] = await bot.slack.wait_for("/api/chat.update", timeout=10)
        stop = stop_button(shown)
        await bot.post(bot.press_body("batch_stop", stop["value"], stop["block_id"], user="U2", response="r4"))
        [refused] = await bot.slack.wait_for("/response/r4")
        assert "not on the list of people allowed to retry" in refused["text"]  # Stop is for the same people
        await bot.post(bot.press_body("batch_stop", stop["value"], stop["block_id"], user="U1", response="r5"))
        [batch] = await finished(bot)
        assert batch.note == "stopped by U1"


async def test_a_freeze_stops_a_running_batch_before_its_next_member_and_the_thread_says_so(bot: Bot) -> None:
    digest = await posted_digest(bot)
    view = await bot.preview(bot.press_on(digest, "digest_batch_reset"))
    await bot.post(submission_body(view, reason=REASON, typed={RATE_BLOCK: (RATE_INPUT, "1")}))
    await bot.slack.wait_for("/api/chat.update", timeout=10)  # under way
    await bot.service.switch.freeze("U9", "database failover")

    [batch] = await finished(bot)
    assert batch.status is BatchStatus.STOPPED and batch.note is not None and "database failover" in batch.note
    assert batch.count(MemberStatus.WAITING) > 0
    last = json.dumps(bot.slack.sent("/api/chat.update")[-1]["blocks"])
    assert "Stopped (stopped: " in last and "database failover" in last and "batch_stop" not in last


async def test_a_batch_resumed_by_another_process_goes_on_editing_its_progress_message(bot: Bot) -> None:
    digest = await posted_digest(bot)
    view = await bot.preview(bot.press_on(digest, "digest_batch_reset"))
    await bot.post(submission_body(view, reason=REASON, typed={RATE_BLOCK: (RATE_INPUT, "2")}))
    [first] = await bot.slack.wait_for("/api/chat.update", timeout=10)  # under way
    assert bot.deps.batch_runs is not None
    await bot.deps.batch_runs.close()  # this process stops (its lease goes with it); the batch stays running
    [batch] = await bot.database.batches.running()
    assert batch.count(MemberStatus.WAITING) > 0 and batch.message_ref == f"{first['channel']}/{first['ts']}"

    runner = BatchRunner(bot.database.batches, bot.service, bot.database.leases, holder="e2e:next-process")
    assert await BatchRuns(bot.client, runner, every=0.1).resume_all() == 1  # serve's schedule, after a restart
    [ended] = await finished(bot)
    assert ended.status is BatchStatus.FINISHED and ended.count(MemberStatus.DONE) == 7
    progress = [m for m in bot.slack.sent("/api/chat.postMessage") if m["text"].startswith("Batch ")]
    edits = [u for u in bot.slack.sent("/api/chat.update") if u["text"].startswith("Batch ")]
    assert len(progress) == 1 and {u["ts"] for u in edits} == {first["ts"]}  # one message, edited to the end
    last = json.dumps(edits[-1]["blocks"])
    assert "Finished: 7/7 reset, 0 refused, 0 failed" in last and "batch_stop" not in last


async def test_an_automatic_batch_is_announced_with_a_stop_and_that_message_shows_its_progress(bot: Bot) -> None:
    for i in range(3):
        await make(bot.store, bot.engine, f"orphan-{i}", Situation.WEDGED_ORPHANED, current_step="create_storage")
    automatic = AutoRecovery(bot.database.batches, {Situation.WEDGED_ORPHANED}, cap=50, clock=now)
    s = bot.scanner
    scanner = Scanner(s.store, s.alerts, s.notifier, s.finder, leases=s.leases, holder="e2e", clock=now, auto=automatic)
    assert (await scanner.tick()).auto_batches == 1
    [announced] = [m for m in bot.slack.sent("/api/chat.postMessage") if "Auto-recovery" in m["text"]]
    [stop] = [e for b in parsed(announced["blocks"]) if b["type"] == "actions" for e in b["elements"]]
    assert stop["action_id"] == "batch_stop"

    assert bot.deps.batch_runs is not None
    assert await bot.deps.batch_runs.resume_all() == 1  # serve's batch job
    [batch] = await finished(bot)
    assert batch.status is BatchStatus.FINISHED and batch.count(MemberStatus.DONE) == 3
    assert batch.message_ref is not None
    channel, _, ts = batch.message_ref.partition("/")
    assert channel == announced["channel"]  # recorded where the announcement went
    edits = [u for u in bot.slack.sent("/api/chat.update") if u["text"].startswith("Batch ")]
    assert edits and {(u["channel"], u["ts"]) for u in edits} == {(channel, ts)}  # the announcement, edited
    assert "Finished: 3/3 reset and retried" in json.dumps(edits[-1]["blocks"])


async def test_slack_answering_429_to_progress_edits_still_leaves_the_message_saying_how_the_batch_ended(
    bot: Bot,
) -> None:
    digest = await posted_digest(bot)
    view = await bot.preview(bot.press_on(digest, "digest_batch_reset"))
    bot.slack.rate_limit("chat.update", 3, retry_after=1)  # every edit while it runs is refused or held back
    await bot.post(submission_body(view, reason=REASON))
    [batch] = await finished(bot)  # the run is over once its last edit waited out the Retry-After
    assert batch.status is BatchStatus.FINISHED
    edits = [u for u in bot.slack.sent("/api/chat.update") if u["text"].startswith("Batch ")]
    assert edits and "Finished: 7/7 reset" in json.dumps(edits[-1]["blocks"]), edits[-1:]
    assert len(bot.slack.arrivals("/api/chat.update")) >= 4  # three 429s, then the edit that took
