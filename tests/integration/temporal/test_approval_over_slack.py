"""Two-person Decommission end to end on the real dev server: the app the composition root builds, over signed
HTTP with the Slack stand-in. A run fails cleanly, one person presses Decommission on the card, a second
approves the posted request twice at once, and the saga decommissions the tenant once: no allocation left,
one `decommission_started` and one `decommission_completed` in the audit feed, and the request's message
says it completed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import create_app, slack_client
from bot.deps import BotDeps
from bot.http import EVENTS_PATH, start_http
from bot.installation import InstallationCheck
from bot.request_updates import update_requests
from bot.seen_values import pack
from core.authz import AllowList
from core.decisions import Situation
from core.domain import TenantState
from core.results import utcnow
from core.seen import Seen
from tenantbot.bootstrap import runtime
from tests.e2e.serving import press_body, signed_headers, submission_body
from tests.e2e.slack_stub import SlackStub, free_port
from tests.integration.temporal.conftest import provision, reach, world_settings

pytestmark = pytest.mark.temporal
SECRET = "approvals-secret"


async def post(session: aiohttp.ClientSession, url: str, body: str) -> None:
    async with session.post(url, data=body.encode(), headers=signed_headers(body, secret=SECRET)) as response:
        assert response.status == 200


async def test_a_decommission_asked_by_one_and_approved_by_another_runs_once_on_the_real_engine(
    temporal_address: str, tmp_path: Path, tid: str
) -> None:
    settings = world_settings(tmp_path, temporal_address, decommission_users=AllowList(users=frozenset({"U1", "U2"})))
    slack = SlackStub()
    await slack.start()
    async with runtime(settings, worker=True) as rt, aiohttp.ClientSession() as session:
        await provision(rt, tid, "fail@2")
        await reach(rt, tid, Situation.FAILED_CLEANLY)
        client = slack_client("xoxb-test", slack.api_url)
        installation = InstallationCheck(client)
        assert await installation.learn() is None
        deps = BotDeps(
            rt.presses,
            "https://runbook",
            utcnow,
            rt.finder,
            settings.read_timeout,
            rt.history,
            rt.links,
            rt.tenant_link,
            rt.approvals,
            approval_channel="C9",
        )
        app = create_app(signing_secret=SECRET, client=client, installation=installation, deps=deps)
        port = free_port()
        runner = await start_http(app, port, host="127.0.0.1")
        url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
        try:
            view = await rt.service.view(tid)
            shown = pack(Seen.of(view.tenant, view.assessment.situation, view.at))  # what the card showed
            card = {"action_id": "tenant_decommission", "block_id": f"tenant_actions:{tid}", "value": shown}
            await post(session, url, press_body({**card, "action_ts": "1.1"}, slack.response_url("ask"), user="U1"))
            assert len(await slack.wait_for("/api/views.open", timeout=10)) == 1  # the preview
            await post(session, url, submission_body(slack.opened[-1], reason="the customer left", user="U1"))
            [asked] = await slack.wait_for("/response/ask", timeout=10)
            assert "requested" in asked["text"], asked
            [posted] = await slack.wait_for("/api/chat.postMessage")
            raw = posted["blocks"]
            blocks: list[dict[str, Any]] = json.loads(raw) if isinstance(raw, str) else raw
            actions = next(b for b in blocks if b["type"] == "actions")
            value = next(e["value"] for e in actions["elements"] if e["action_id"] == "approval_approve")
            approve = {"action_id": "approval_approve", "block_id": actions["block_id"], "value": value}
            where = {"container": {"type": "message", "message_ts": "100.0001", "channel_id": "C1"}}
            await asyncio.gather(
                *(
                    post(
                        session,
                        url,
                        press_body(
                            {**approve, "action_ts": f"2.{n}"}, slack.response_url(f"a{n}"), user="U2", fields=where
                        ),
                    )
                    for n in (1, 2)
                )
            )
            answers = [(await slack.wait_for(f"/response/a{n}", timeout=15))[0]["text"] for n in (1, 2)]
            assert sum("done — decommission started" in a for a in answers) == 1, answers
            await reach(rt, tid, Situation.DONE, within=30)
            assert await update_requests(client, rt.approvals) == 1  # the schedule's chore, once the saga ended
            edits = [str(update["blocks"]) for update in slack.sent("/api/chat.update")]  # the chore awaited its edit
            assert sum("completed: the tenant is decommissioned" in edit for edit in edits) == 1
        finally:
            await runner.cleanup()
            await slack.stop()
        tenant = await rt.database.tenants.get(tid)
        assert tenant is not None and tenant.state is TenantState.DECOMMISSIONED
        assert await rt.database.tenants.allocations(tid) == []
        types = [e.type.removeprefix("tenant.provisioning.") for e in await rt.database.tenants.events(tid, 100)]
        assert types.count("decommission_approved") == 1 and types.count("decommission_started") == 1
        assert types.count("decommission_completed") == 1
