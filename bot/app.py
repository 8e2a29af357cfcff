"""`create_app`: the async Bolt app, built from explicit parts so tests and replicas build their own.

No module-level app: the signing secret, the Web API client (pointed at SLACK_API_URL when set, and
honouring every 429's Retry-After: bot/slack_client.py), the installation it serves and the core
service are handed in. Over HTTP and Socket Mode alike, the app refuses requests for another app or
workspace (bot/installation.py) and drops redeliveries of requests it already received (bot/redelivery.py).

Every request gets a request id here (core/request_ids.py), HTTP and Socket Mode alike, before anything
handles it: the listener's work, the core's audit events and the engine calls it makes all carry it,
and so does the DEBUG line logged per request with its kind, answer and ack time (also counted in
the app's metrics, bot/metrics.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import BotDeps
from bot.installation import InstallationCheck
from bot.listeners import actions, register_listeners
from bot.metrics import Metrics, request_kind
from bot.redelivery import Deliveries, delivery_key
from bot.response_urls import ResponseUrls
from bot.slack_client import SlackClient
from core.request_ids import request_scope

log = logging.getLogger(__name__)


def slack_client(token: str, api_url: str | None = None, metrics: Metrics | None = None) -> SlackClient:
    """One per process: it remembers Slack's Retry-After pauses for the app and the notifier alike, and
    counts Slack's errors and 429s in `metrics`. No 429 retry handler: a retry is the caller's decision
    (the notifier waits, a listener does not)."""
    return SlackClient(token=token, base_url=api_url or AsyncWebClient.BASE_URL, metrics=metrics)


class TenantBotApp(AsyncApp):
    """Bolt's app plus the signing secret for the HTTP endpoint, the installation every request must be
    for, and the memory of received requests."""

    def __init__(
        self,
        *,
        signing_secret: str,
        client: AsyncWebClient,
        installation: InstallationCheck,
        metrics: Metrics | None = None,
        response_urls: ResponseUrls | None = None,
    ) -> None:
        super().__init__(
            client=client,
            signing_secret=signing_secret,
            raise_error_for_unhandled_request=False,
            request_verification_enabled=False,  # bot/http.py checks the raw bytes before Bolt sees a body
        )
        self.signing_secret = signing_secret
        self.installation = installation
        self.deliveries = Deliveries()
        self.metrics = metrics or Metrics()
        # one HTTP session for every answer through a response_url
        self.response_urls = response_urls or ResponseUrls()
        self.use(self._share_pauses)
        self.use(self._share_response_session)

    async def _share_pauses(self, context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]) -> None:
        """Bolt hands each request its own copy of the client; ours keeps the app client's Retry-After pauses,
        so a 429 met by a listener holds back the notifier, and the other way round."""
        if isinstance(self.client, SlackClient):
            context["client"] = self.client.alike(context.client)
        await next()

    async def _share_response_session(
        self, context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
    ) -> None:
        """Each request's `respond()` posts through the app's one session (bot/response_urls.py)."""
        if context.response_url is not None:
            context["respond"] = self.response_urls.respond(context.response_url)
        await next()

    async def close(self) -> None:
        """Close what the app holds open: the response_url session. Call it once serving has stopped."""
        await self.response_urls.close()

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        """The request under a fresh request id, counted by kind and answer, its ack time measured."""
        started, kind = time.monotonic(), request_kind(req.body)
        with request_scope():
            response, outcome = await self._dispatch(req)
            elapsed = time.monotonic() - started
            self.metrics.request(kind, outcome, elapsed)
            log.debug("%s request %s (HTTP %d) in %.0f ms", kind, outcome, response.status, elapsed * 1000)
        return response

    async def _dispatch(self, req: AsyncBoltRequest) -> tuple[BoltResponse, str]:
        refusal = await self.installation.refusal(req.body, req.context.team_id, req.context.enterprise_id)
        if refusal is not None:
            log.warning("request refused: %s", refusal)
            return BoltResponse(status=401, body={"error": "invalid request"}), "refused"
        key = delivery_key(req.body)
        if key is not None and req.headers.get("x-slack-retry-num") and self.deliveries.received(key):
            log.info("dropped a redelivery (retry %s) of a request already answered", req.headers["x-slack-retry-num"])
            return BoltResponse(status=200, body=""), "redelivery_dropped"
        if key is not None:
            self.deliveries.add(key)  # before dispatching, so a redelivery arriving meanwhile is dropped
        response = await super().async_dispatch(req)
        if key is not None and response.status != 200:
            self.deliveries.forget(key)  # not answered: Slack's next attempt must be handled
        return response, "acked" if response.status == 200 else "failed"


def create_app(
    *, signing_secret: str, client: AsyncWebClient, installation: InstallationCheck, deps: BotDeps
) -> TenantBotApp:
    app = TenantBotApp(
        client=client,
        signing_secret=signing_secret,
        installation=installation,
        metrics=deps.metrics,
        response_urls=deps.response_urls,
    )

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error(
            "unhandled error for a %s request: %s", body.get("type") or body.get("command"), error, exc_info=error
        )

    app.error(on_error)
    register_listeners(app, deps)
    actions.register_fallback(app)  # last: Bolt runs the first listener that matches
    return app
