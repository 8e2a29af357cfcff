"""The App Home as Slack drives it: a signed Events API callback `app_home_opened` on the real endpoint, and
the Slack stand-in recording the `views.publish` the bot sends for that person: the read-only switch, the
wedged tenants by cause with a button to each, the alerts they took, their last actions, the last scan.
A tenant's button in the Home (a press with no response_url) sends its card to the presser's DM; a
database that cannot be read still gets a short Home; Slack's url_verification challenge is answered."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.app import create_app
from bot.blocks.alert import ALERT_BLOCK
from bot.blocks.home import OPEN_TENANT
from bot.socket import connect_socket_mode
from core import events as ev
from core.decisions import Situation
from tests.e2e.conftest import SECRET, Bot, running_bot
from tests.e2e.situations import make

JSON = {"Content-Type": "application/json"}


PUBLISHED = {  # the Home as Slack last showed it, sent with the event once a view was published
    "id": "V0HOME",
    "team_id": "T1",
    "type": "home",
    "blocks": [{"type": "section", "block_id": "a1", "text": {"type": "mrkdwn", "text": "earlier"}}],
    "private_metadata": "",
    "callback_id": "",
    "hash": "1515449522.12321312",
    "clear_on_close": False,
    "notify_on_close": False,
    "root_view_id": "V0HOME",
    "app_id": "A1",
    "external_id": "",
    "app_installed_team_id": "T1",
    "bot_id": "BBOT",
}


def home_opened(user: str = "U1", tab: str = "home", event_id: str = "Ev0HOME1", seen: bool = False) -> str:
    """The body Slack posts when `user` opens the app's Home tab (docs.slack.dev: app_home_opened); `seen`:
    a Home was published before, and Slack sends it along."""
    view = {"view": PUBLISHED} if seen else {}
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T1",
            "api_app_id": "A1",
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0HOME",
                "tab": tab,
                "event_ts": f"{time.time():.6f}",
                **view,
            },
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": "T1",
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    )


async def published(bot: Bot) -> dict[str, Any]:
    """The one views.publish the bot sent: its user_id and its view (as JSON, however the client sent it)."""
    [call] = await bot.slack.wait_for("/api/views.publish")
    view = call["view"]
    return {"user_id": call["user_id"], "view": json.loads(view) if isinstance(view, str) else view}


def texts(view: dict[str, Any]) -> list[str]:
    """Each block's text (sections, headers, context lines), in order."""
    shown = []
    for block in view["blocks"]:
        if "text" in block:
            shown.append(block["text"]["text"])
        shown += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return shown


async def take(bot: Bot, tenant_id: str, user: str) -> None:
    [alert] = [a for a in await bot.scanner.alerts.open_alerts() if a.tenant_id == tenant_id]
    block = ALERT_BLOCK.format(alert.id, tenant_id)
    status, _ = await bot.post(bot.press_body("alert_take", tenant_id, block, user=user))
    assert status == 200
    await bot.slack.wait_for("/response/r1")


async def test_opening_the_home_tab_publishes_the_switch_the_causes_the_claims_the_actions_and_the_scan(
    bot: Bot,
) -> None:
    for i in range(2):
        await make(bot.store, bot.engine, f"orphan-{i}", Situation.WEDGED_ORPHANED, current_step="create_storage")
    await make(bot.store, bot.engine, "hung-1", Situation.WEDGED_NO_PROGRESS, current_step="seed_data")
    before = int(time.time())
    await bot.scanner.tick()  # opens the alerts, and records when it finished
    await take(bot, "hung-1", "U1")  # the viewer's claim, and their last action
    await take(bot, "orphan-0", "U2")  # someone else's: not on U1's Home
    await bot.service.switch.freeze("U9", "database failover")
    bot.slack.calls.clear()

    status, _, elapsed = await bot.exchange(home_opened("U1", seen=True), headers=JSON)
    assert status == 200 and elapsed < 3
    home = await published(bot)
    assert home["user_id"] == "U1" and home["view"]["type"] == "home"
    shown = texts(home["view"])
    assert any(t.startswith(":snowflake: *Frozen (read-only)* by <@U9>") and "database failover" in t for t in shown)
    [scan] = [t for t in shown if t.startswith("Last scan: ")]
    scanned_at = int(scan.split("^")[1])
    assert before <= scanned_at <= int(time.time()) and scan.endswith(", 3 wedged")
    assert "*2* orphaned at `create_storage`" in shown and "*1* hung at `seed_data`" in shown
    [orphans] = [b for b in home["view"]["blocks"] if b.get("block_id") == "home_cause:0"]
    assert [(e["action_id"], e["value"]) for e in orphans["elements"]] == [
        (OPEN_TENANT, "orphan-0"),
        (OPEN_TENANT, "orphan-1"),
    ]
    claims = [b for b in home["view"]["blocks"] if b.get("accessory", {}).get("action_id") == OPEN_TENANT]
    assert [b["accessory"]["value"] for b in claims] == ["hung-1"]  # U2's claim on orphan-0 is not U1's
    [actions] = [t for t in shown if t.startswith("• ")]
    assert f"`{ev.ALERT_CLAIMED.removeprefix(ev.PREFIX)}` on *hung-1*" in actions and "orphan-0" not in actions


async def test_the_messages_tab_publishes_nothing(bot: Bot) -> None:
    status, _ = await bot.post(home_opened("U1", tab="messages"), headers=JSON)
    assert status == 200
    assert await bot.slack.wait_for("/api/views.publish", timeout=0.5) == []


async def test_a_home_with_nothing_yet_says_so(bot: Bot) -> None:
    await bot.post(home_opened("U3"), headers=JSON)
    shown = texts((await published(bot))["view"])
    assert ":large_green_circle: *Not frozen*: actions are allowed." in shown
    assert ":white_check_mark: No wedged tenants right now." in shown
    assert any(t.startswith("No scan has finished yet") for t in shown)
    assert any(t.startswith("None open.") for t in shown) and any(t.startswith("Nothing yet") for t in shown)


def home_press(tenant_id: str, user: str = "U1") -> str:
    """The form Slack posts for a button pressed in the Home tab: a view container, and no response_url."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "oncall", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy",
        "container": {"type": "view", "view_id": "V0HOME"},
        "trigger_id": "1.2.3",
        "team": {"id": "T1", "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {"id": "V0HOME", "team_id": "T1", "type": "home", "blocks": [], "app_id": "A1", "bot_id": "BBOT"},
        "actions": [
            {
                "type": "button",
                "action_id": OPEN_TENANT,
                "block_id": "home_cause:0",
                "value": tenant_id,
                "action_ts": f"{time.time():.6f}",
                "text": {"type": "plain_text", "text": tenant_id},
            }
        ],
    }
    return "payload=" + quote(json.dumps(payload))


async def test_a_tenant_button_in_the_home_sends_its_card_to_the_presser_privately(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    status, _, elapsed = await bot.exchange(home_press("acme-42"))
    assert status == 200 and elapsed < 3
    [card] = await bot.slack.wait_for("/api/chat.postMessage")
    assert card["channel"] == "U1"  # the presser's DM with the app
    blocks = json.loads(card["blocks"]) if isinstance(card["blocks"], str) else card["blocks"]
    assert "acme-42" in json.dumps(blocks) and "tenant_reset" in json.dumps(blocks)


async def test_a_home_button_for_an_unknown_tenant_is_answered_in_the_dm(bot: Bot) -> None:
    await bot.post(home_press("nobody-1"))
    [answer] = await bot.slack.wait_for("/api/chat.postMessage")
    assert answer["channel"] == "U1" and "No tenant `nobody-1`" in answer["text"]


async def test_a_database_that_cannot_be_read_still_gets_a_short_home(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.database.engine.dispose()
        path = tmp_path / "bot.db"
        path.rename(tmp_path / "moved.db")
        path.mkdir()  # the database file is now a directory: every connection fails
        try:
            status, _, elapsed = await bot.exchange(home_opened("U1"), headers=JSON)
            home = await published(bot)
        finally:
            shutil.rmtree(path)
            (tmp_path / "moved.db").rename(path)
    assert status == 200 and elapsed < 3
    [header, line] = home["view"]["blocks"]
    assert header["text"]["text"] == "tenantbot"
    assert line["text"]["text"].startswith(":rotating_light: Could not read tenantbot's state: ")


async def test_slacks_url_verification_challenge_is_answered(bot: Bot) -> None:
    body = json.dumps(
        {
            "token": "legacy",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    status, answer, _ = await bot.exchange(body, headers=JSON)
    assert status == 200
    assert json.loads(answer) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_the_home_is_published_over_socket_mode_too(bot: Bot) -> None:
    await bot.service.switch.freeze("U9", "database failover")
    payload = json.loads(home_opened("U1"))
    bot.slack.envelopes.append(
        {"envelope_id": "env-home", "type": "events_api", "accepts_response_payload": False, "payload": payload}
    )
    app = create_app(signing_secret=SECRET, client=bot.client, installation=bot.app.installation, deps=bot.deps)
    handler = await connect_socket_mode(app, "xapp-e2e")
    try:
        [ack] = await bot.slack.wait_for("/socket/ack")
        home = await published(bot)
    finally:
        await handler.close_async()
    assert ack["envelope_id"] == "env-home" and home["user_id"] == "U1"
    assert any(t.startswith(":snowflake: *Frozen (read-only)* by <@U9>") for t in texts(home["view"]))
