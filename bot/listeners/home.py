"""The bot's Home tab: published for a person each time they open it, and its tenant buttons.

`app_home_opened` (an Events API callback; Bolt acks it first) for the Home tab, not the Messages tab:
the core reads the Home (core/home.py, every part bounded), bot/blocks/home.py renders it, and
`views.publish` shows it to that person. Whatever fails, something is published: a part that could not be
read says so, and an unexpected failure gives the short "could not read" Home.

A tenant's button sends its card to the presser in the app's direct messages (`chat.postMessage` to the
user id). A press in a Home tab has no response_url to answer through, and a modal (`views.open`) must be
opened within 3 s of the press, while the card reads the database and the engine first; more to the
point, the card's own buttons (Reset, Retry…) are answered through their message's response_url, which a
message in the DM has and a modal does not, so the card works there exactly as after `/tenant <id>`.
Only the presser and the bot are in that conversation.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackClientError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.answer import RESPOND_SECONDS
from bot.blocks.home import OPEN_TENANT, home_view, unreadable_view
from bot.deps import BotDeps
from bot.listeners.commands import private_card
from bot.replies import failure_text, log_failure
from core.domain import parse_tenant_id

log = logging.getLogger(__name__)
SLACK_ERRORS = (SlackClientError, aiohttp.ClientError, OSError, TimeoutError)


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        user = event.get("user")
        if event.get("tab") != "home" or not isinstance(user, str) or deps.home is None:
            return  # the Messages tab, or a Home this bot was built without
        try:
            view = home_view(await deps.home.home(user))
        except Exception as e:
            log.error("App Home for %s could not be built", user, exc_info=e)
            view = unreadable_view("")
        await publish(client, user, view)

    async def open_tenant(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = str(body["user"]["id"])
        try:
            card = await private_card(deps, user, parse_tenant_id(str(action.get("value", ""))))
            message = {"text": card["text"], "blocks": card["blocks"]}
        except Exception as e:
            log_failure("Home tenant button", e)
            message = {"text": failure_text(e)}
        await send(client, user, message)

    app.event("app_home_opened")(opened)
    app.action(OPEN_TENANT)(open_tenant)


async def publish(client: AsyncWebClient, user: str, view: View) -> None:
    try:
        await asyncio.wait_for(client.views_publish(user_id=user, view=view), RESPOND_SECONDS)
    except SLACK_ERRORS as e:
        log.warning("views.publish of the App Home for %s failed: %s", user, e or "no answer")


async def send(client: AsyncWebClient, user: str, message: dict[str, Any]) -> None:
    """To the user's DM with the app (the channel named by the user id)."""
    try:
        await asyncio.wait_for(client.chat_postMessage(channel=user, **message), RESPOND_SECONDS)
    except SLACK_ERRORS as e:
        log.warning("could not send the card to %s from the App Home: %s", user, e or "no answer")
