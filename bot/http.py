"""The HTTP face of the app: aiohttp serving `POST /slack/events` (commands and interactivity) and the
probes and metrics (`GET /healthz`, `/readyz`, `/metrics`: bot/probes.py), on the same event loop as
everything else — not Bolt's development server.

The signature is checked on the raw body before anything parses it, by a check that answers for any
header content (missing, repeated, empty, non-ASCII, a timestamp that is no number): an unsigned
request gets 401 and one INFO line. A signed body that is not a request this app understands gets 400
(bot/shapes.py parses it and says which shapes pass). Both are counted in the app's metrics as requests
of kind "unsigned" or "malformed". Neither reaches Bolt or leaves a traceback,
and neither does an HTTP request too malformed for aiohttp's parser to read. Bolt gets the checked
body, and since this is the one signature check, Bolt's own is off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import CIMultiDictProxy
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import shapes
from bot.app import TenantBotApp
from bot.probes import Readiness, probe_routes

EVENTS_PATH = "/slack/events"
TIMESTAMP, SIGNATURE = "X-Slack-Request-Timestamp", "X-Slack-Signature"
STALE_AFTER = 5 * 60  # seconds, as Slack's own verifier
log = logging.getLogger(__name__)


def unsigned(secret: bytes, raw: bytes, headers: CIMultiDictProxy[str], now: float) -> str | None:
    """Why the request is not signed with `secret` (Slack's v0 scheme), or None if it is."""
    timestamps, signatures = headers.getall(TIMESTAMP, []), headers.getall(SIGNATURE, [])
    if not timestamps or not signatures:
        return "no signature"
    if len(timestamps) > 1 or len(signatures) > 1:
        return "signature headers repeated"
    timestamp, signature = timestamps[0], signatures[0]
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "the timestamp is not a number of seconds"
    if abs(now - int(timestamp)) > STALE_AFTER:
        return "the timestamp is more than 5 minutes away"
    expected = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    if not (signature.isascii() and hmac.compare_digest(f"v0={expected}".encode(), signature.encode())):
        return "the signature does not match"
    return None


def web_app(app: TenantBotApp, readiness: Readiness | None = None) -> web.Application:
    """The Slack endpoint and the probes; without `readiness`, /readyz checks nothing (tests of the endpoint)."""
    secret = app.signing_secret.encode()

    async def events(request: web.Request) -> web.Response:
        started = time.monotonic()
        raw = await request.read()
        if (reason := unsigned(secret, raw, request.headers, time.time())) is not None:
            log.info("unsigned request refused: %s", reason)
            app.metrics.request("unsigned", "refused", time.monotonic() - started)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            body, problem = shapes.read(raw.decode("utf-8"), request.content_type)
        except UnicodeDecodeError:
            body, problem = {}, "unreadable body: not UTF-8"
        if problem is not None:
            log.info("signed request refused: %s", problem)
            app.metrics.request("malformed", "refused", time.monotonic() - started)
            return web.json_response({"error": f"could not understand this request: {problem}"}, status=400)
        # Bolt gets the body that was checked, as JSON (which its parser reads as is); the signature was
        # over the raw bytes, so Bolt does not check it again (TenantBotApp)
        bolt_request = AsyncBoltRequest(body=json.dumps(body), query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    application = web.Application(client_max_size=1024 * 1024)
    application.router.add_post(EVENTS_PATH, events)
    application.add_routes(probe_routes(readiness or Readiness({}), app.metrics))
    return application


class ServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log, but a request its HTTP parser refuses (a header line over 8 KB, a control
    byte in a header) is the client's fault: one INFO line, not an ERROR with a traceback per request."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            log.info("malformed HTTP request refused: %s", str(exc_info.message).splitlines()[0][:120])
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


async def start_http(
    app: TenantBotApp, port: int, host: str = "0.0.0.0", readiness: Readiness | None = None
) -> web.AppRunner:
    """Start serving; the caller awaits `runner.cleanup()` to stop."""
    server_log = ServerLog(logging.getLogger("aiohttp.server"), {})
    runner = web.AppRunner(web_app(app, readiness), access_log=None, logger=server_log)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
