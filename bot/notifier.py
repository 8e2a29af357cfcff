"""`SlackNotifier`: the scanner's Notifier on the Slack Web API.

Posts are paced to about one per second per channel (Slack's chat.postMessage limit); a 429 is
retried after its Retry-After by the client's retry handler; any failure that remains becomes
NotifyError, so the scanner keeps the alert and posts it on a later tick instead of losing it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alert_blocks import alert_blocks, alert_text, digest_blocks, digest_text
from core.alerts import Alert
from core.ports import NotifyError


class SlackNotifier:
    def __init__(self, client: AsyncWebClient, channel: str, *, min_interval: float = 1.0) -> None:
        self.client, self.channel, self.min_interval = client, channel, min_interval
        self._gate = asyncio.Lock()
        self._last = 0.0

    async def post_alert(self, alert: Alert) -> str:
        return await self._post(text=alert_text(alert), blocks=alert_blocks(alert))

    async def post_digest(self, alerts: Sequence[Alert]) -> str:
        return await self._post(text=digest_text(alerts), blocks=digest_blocks(alerts))

    async def update_alert(self, alert: Alert) -> None:
        channel, ts = _where(alert)
        await self._call(
            self.client.chat_update, channel=channel, ts=ts, text=alert_text(alert), blocks=alert_blocks(alert)
        )

    async def reply(self, alert: Alert, text: str) -> None:
        channel, ts = _where(alert)
        await self._paced(self.client.chat_postMessage, channel=channel, thread_ts=ts, text=text)

    async def _post(self, **message: Any) -> str:
        response = await self._paced(self.client.chat_postMessage, channel=self.channel, **message)
        return f"{response['channel']}/{response['ts']}"

    async def _paced(self, method: Any, **arguments: Any) -> Any:
        async with self._gate:
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await self._call(method, **arguments)
            finally:
                self._last = time.monotonic()

    @staticmethod
    async def _call(method: Any, **arguments: Any) -> Any:
        try:
            return await method(**arguments)
        except SlackApiError as e:
            raise NotifyError(
                f"Slack refused {method.__name__}: {e.response.get('error', e.response.status_code)}"
            ) from e
        except (SlackClientError, OSError, TimeoutError) as e:
            raise NotifyError(f"Slack unreachable: {e}") from e


def _where(alert: Alert) -> tuple[str, str]:
    if alert.message_ref is None:
        raise NotifyError(f"the alert of {alert.tenant_id} was never posted")
    channel, _, ts = alert.message_ref.partition("/")
    return channel, ts
