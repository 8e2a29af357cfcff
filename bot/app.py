"""`create_app`: the async Bolt app, built from explicit parts so tests and replicas build their own.

No module-level app: the signing secret, the Web API client (pointed at SLACK_API_URL when set, with
429 handling) and the core service are handed in.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import BotDeps
from bot.listeners import register_listeners

log = logging.getLogger(__name__)


def slack_client(token: str, api_url: str | None = None) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=api_url or AsyncWebClient.BASE_URL)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    return client


def create_app(*, signing_secret: str, client: AsyncWebClient, deps: BotDeps) -> AsyncApp:
    app = AsyncApp(client=client, signing_secret=signing_secret, raise_error_for_unhandled_request=False)

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error(
            "unhandled error for a %s request: %s", body.get("type") or body.get("command"), error, exc_info=error
        )

    app.error(on_error)
    register_listeners(app, deps)
    return app
