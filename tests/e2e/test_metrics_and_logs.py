"""`GET /metrics` and the request ids in the logs, as Slack drives the bot: signed commands and presses
over HTTP, a scan tick posting an alert, then a scrape of the same endpoint's /metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote

from prometheus_client.parser import text_string_to_metric_families

from bot.socket import connect_socket_mode
from core.decisions import Situation
from tenantbot.log_records import context_filters, formatter
from tenantbot.scheduler import scan_once
from tests.e2e.conftest import Bot
from tests.e2e.situations import make

CARD = "tenant_actions:{}"
IDS = {"acme-42", "beta-7", "U1", "U9", "C1", "C9", "T1", "A1"}  # tenants, users, channels, workspace, app


async def scrape(bot: Bot) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, by name and labels."""
    async with bot.session.get(bot.url.replace("/slack/events", "/metrics")) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_commands_presses_alerts_and_ticks_without_naming_any_tenant_user_or_channel(
    bot: Bot,
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await make(bot.store, bot.engine, "beta-7", Situation.MAKING_PROGRESS)
    before = await scrape(bot)
    for text in ("acme-42", "beta-7", "stuck"):
        assert (await bot.post(bot.command_body(text, response=f"c-{text}")))[0] == 200
    assert await scan_once(bot.scanner, bot.metrics) is not None  # alerts acme-42 in C9
    await bot.slack.wait_for("/api/chat.postMessage")
    await bot.act("tenant_reset", "acme-42", user="U9", response="p1")  # its preview, then the submission
    await bot.act("tenant_reset", "beta-7", response="p2")  # not wedged: refused before any preview
    await bot.slack.wait_for("/response/p1")
    await bot.slack.wait_for("/response/p2")
    await bot.post(bot.command_body("acme-42"), secret="not-the-secret")  # unsigned: 401

    after = await scrape(bot)
    requests = "tenantbot_slack_requests_total"
    assert (
        value(after, requests, kind="command", outcome="acked")
        - value(before, requests, kind="command", outcome="acked")
        == 3
    )
    assert value(after, requests, kind="block_actions", outcome="acked") == 2
    assert value(after, requests, kind="unsigned", outcome="refused") == 1
    assert value(after, "tenantbot_slack_ack_seconds_count", kind="command") == 3
    assert value(after, "tenantbot_actions_total", action="reset", outcome="done") == 1
    assert value(after, "tenantbot_actions_total", action="reset", outcome="refused") == 1
    assert value(after, "tenantbot_alert_messages_total", event="posted") == 1
    assert value(after, "tenantbot_scan_tick_seconds_count") == 1
    assert value(after, "tenantbot_wedged_tenants", situation="wedged_no_progress") == 1
    assert value(after, "tenantbot_wedged_tenants", situation="wedged_orphaned") == 0

    labels = {v for (_, pairs) in after for (_, v) in pairs}
    assert not labels & IDS, labels & IDS
    assert not any("acme" in v or "beta" in v for v in labels)


async def test_slack_errors_and_429s_are_counted_by_method(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    bot.slack.rate_limit("chat.postMessage", 1, retry_after=0.1)
    bot.slack.fail("chat.postMessage", (500, {}))
    await scan_once(bot.scanner, bot.metrics)  # 429, waits it out, then 500: left for the next tick
    await scan_once(bot.scanner, bot.metrics)  # posted
    samples = await scrape(bot)
    assert value(samples, "tenantbot_slack_rate_limited_total", method="chat.postMessage") == 1
    assert value(samples, "tenantbot_slack_api_errors_total", method="chat.postMessage") == 1
    assert value(samples, "tenantbot_alert_messages_total", event="posted") == 1


@contextmanager
def json_log() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines, through the same filters `serve` installs (LOG_FORMAT=json)."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(formatter("json"))
    for record_filter in context_filters():
        handler.addFilter(record_filter)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_a_press_logs_json_lines_with_the_request_id_of_its_audit_events(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    with json_log() as lines:
        await bot.act("tenant_reset", "acme-42", user="U9")  # the press opens the preview; the submission runs it
        await bot.slack.wait_for("/response/r1")
        await bot.post(bot.command_body("acme-42", response="view"))
        await bot.slack.wait_for("/response/view")
    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in logged)

    events = [e for e in await bot.store.events("acme-42", 10) if e.type.endswith(("reset_started", "reset_completed"))]
    request_ids = {e.details.get("request_id") for e in events}
    assert len(events) == 2 and len(request_ids) == 1 and None not in request_ids
    [request_id] = request_ids
    press_lines = [line for line in logged if line.get("request_id") == request_id]
    outcome = next(line for line in press_lines if line["logger"] == "core.service")
    assert outcome["tenant_id"] == "acme-42" and outcome["level"] == "INFO"
    assert outcome["message"].startswith("reset by U9: done")
    assert any(line["logger"] == "bot.app" for line in press_lines)  # the request itself, at DEBUG
    others = {line.get("request_id") for line in logged if line["logger"] == "bot.app"} - {request_id}
    assert len(others) == 2 and None not in others  # the press that opened the preview and /tenant: their own


async def test_a_socket_mode_request_is_counted_and_gets_a_request_id_like_an_http_one(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)  # Retry: no preview to submit
    card, shown = CARD.format("acme-42"), await bot.shown("acme-42")
    payload = json.loads(unquote(bot.press_body("tenant_retry", shown, card, response="sock").split("=", 1)[1]))
    bot.slack.envelopes.append(
        {"envelope_id": "env-1", "type": "interactive", "accepts_response_payload": False, "payload": payload}
    )
    handler = await connect_socket_mode(bot.app, "xapp-e2e")
    try:
        await bot.slack.wait_for("/response/sock")
    finally:
        await handler.close_async()
    samples = await scrape(bot)
    assert value(samples, "tenantbot_slack_requests_total", kind="block_actions", outcome="acked") == 1
    assert value(samples, "tenantbot_actions_total", action="retry", outcome="done") == 1
    [started] = [e for e in await bot.store.events("acme-42", 5) if e.type.endswith("retry_started")]
    assert len(str(started.details["request_id"])) == 16
