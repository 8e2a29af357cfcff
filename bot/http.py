"""The HTTP face of the app: aiohttp serving `POST /slack/events` (commands and interactivity) and
`GET /healthz`, on the same event loop as everything else — not Bolt's development server.

The signature is checked on the raw body before anything parses it, so an unsigned request gets 401
whatever it contains; a signed body that is not a request this app understands gets 400. Neither
reaches Bolt (which checks the signature again) or leaves a traceback in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from bot.app import TenantBotApp

EVENTS_PATH = "/slack/events"
log = logging.getLogger(__name__)


def malformed(body: Any) -> str | None:
    """Why a signed body cannot be a slash command or a button press, or None if it can be."""
    if not isinstance(body, dict):
        return "the body is not an object"
    if "command" in body and not all(isinstance(body.get(k), str) for k in ("command", "user_id", "response_url")):
        return "a command needs command, user_id and response_url"
    if body.get("type") == "block_actions":
        actions, user = body.get("actions"), body.get("user")
        if not isinstance(actions, list) or not actions:
            return "a button press needs actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "every action needs an action_id"
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return "a button press needs a user"
        if not isinstance(body.get("response_url"), str):
            return "a button press needs a response_url"
    return None


def web_app(app: TenantBotApp) -> web.Application:
    verifier = SignatureVerifier(app.signing_secret)

    async def events(request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        try:
            signed = verifier.is_valid(raw, timestamp, request.headers.get("X-Slack-Signature", ""))
        except ValueError:  # a timestamp that is not a number
            signed = False
        if not signed:
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            body = raw.decode("utf-8")
            problem = malformed(parse_body(body, request.content_type))
        except ValueError as e:  # not UTF-8, or a payload that is not JSON
            problem = f"unreadable body: {type(e).__name__}"
        if problem is not None:
            log.info("signed request refused: %s", problem)
            return web.json_response({"error": f"could not understand this request: {problem}"}, status=400)
        bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    application = web.Application(client_max_size=1024 * 1024)
    application.router.add_post(EVENTS_PATH, events)
    application.router.add_get("/healthz", health)
    return application


async def start_http(app: TenantBotApp, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    """Start serving; the caller awaits `runner.cleanup()` to stop."""
    runner = web.AppRunner(web_app(app), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
