"""Answers through response_urls over one HTTP session per process, instead of one per answer.

Bolt's `respond()` builds a webhook client, and with it a new aiohttp session (a connection pool, a
cookie jar, a TCP connection to Slack), for every message it posts, then closes it: under a burst of
commands that cost as much CPU as reading the card. `ResponseUrls` keeps one session, opened at the
first answer and closed when the app stops (`close`); `SharedRespond` is Bolt's `respond()` posting
through it — the same message built the same way, the same WebhookResponse back, so bot/answer.py
reads its status and body as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse

POST_TIMEOUT = 30.0  # seconds, as Bolt's own client; bot/answer.py gives up on a response_url far sooner


class ResponseUrls:
    """The process's one session for response_url posts (opened in the running loop, at the first answer)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT))
        return self._session

    def respond(self, response_url: str | None) -> SharedRespond:
        return SharedRespond(response_url=response_url, urls=self)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class SharedRespond(AsyncRespond):
    """Bolt's `respond()`, posting through the process's session."""

    def __init__(self, *, response_url: str | None, urls: ResponseUrls) -> None:
        super().__init__(response_url=response_url)
        self.urls = urls

    async def __call__(  # type: ignore[override]  # Bolt's signature, its defaults as they are
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        **options: Any,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        if isinstance(text, dict):
            message = _build_message(**text)
        else:
            message = _build_message(text=text, blocks=blocks, attachments=attachments, **options)
        client = AsyncWebhookClient(url=self.response_url, session=self.urls.session(), timeout=int(POST_TIMEOUT))
        return await client.send_dict(message)
