"""`SlackNotifier`: the scanner's Notifier on the Slack Web API.

Every call (post, edit, thread reply) is paced to about one per second per channel (Slack's
chat.postMessage limit; chat.update's tier is about 50 a minute). After a 429 the client refuses to
call that method in that channel again before its Retry-After (bot/slack_client.py); a call waits for
that time when it comes within `max_wait` of the call's start, however many 429s come in a row, and
otherwise fails at once. Any failure that remains becomes NotifyError, so the scanner keeps the post,
edit or reply pending and retries it on a later tick instead of losing it — and a later tick is again
held back until the pause has passed, since the client outlives the tick.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.alert import alert_blocks, alert_text
from bot.blocks.announcement import announcement_text, auto_batch_text
from bot.blocks.batch import auto_batch_blocks
from bot.blocks.digest import digest_blocks, digest_text
from bot.blocks.nudge import reset_nudge_text
from bot.metrics import Metrics
from bot.slack_client import RateLimited
from bot.text import safe
from core.alerting.model import Alert, Announcement, Digest
from core.alerting.nudges import ResetNudge
from core.alerting.ports import NotifyError
from core.batches import Batch
from core.run_links import TenantLink
from core.seen import ShownRun

MAX_WAIT = 10.0  # seconds one call may wait for Slack's Retry-After; the scan's lease is at least 30 s


class SlackNotifier:
    dry_run = False

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        *,
        min_interval: float = 1.0,
        max_wait: float = MAX_WAIT,
        run_link: TenantLink | None = None,
        shown_run: ShownRun | None = None,
        actions_channel: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.client, self.channel, self.min_interval, self.max_wait = client, channel, min_interval, max_wait
        self.actions_channel = actions_channel or channel  # where an action with no open alert is announced
        self.run_link = run_link  # an alert's "Open in Temporal" link, looked up as it is posted or edited
        self.shown_run = shown_run  # the run an alert's Reset acts on, looked up as it is drawn (none: no Reset)
        self.metrics = metrics  # alert messages posted, edited and resolved (bot/metrics.py)
        self._gate = asyncio.Lock()
        self._last = 0.0

    async def post_alert(self, alert: Alert) -> str:
        posted = await self._post(text=alert_text(alert), blocks=await self._alert_blocks(alert))
        self._count("posted")
        return posted

    async def post_digest(self, digest: Digest, members: Sequence[Alert]) -> str:
        return await self._post(text=digest_text(members), blocks=digest_blocks(digest, members))

    async def update_alert(self, alert: Alert) -> None:
        await self._edit(alert.message_ref, text=alert_text(alert), blocks=await self._alert_blocks(alert))
        self._count("resolved" if alert.resolved_at is not None else "edited")

    def _count(self, event: str) -> None:
        if self.metrics is not None:
            self.metrics.alerts.labels(event).inc()

    async def _alert_blocks(self, alert: Alert) -> list[Block]:
        run_url = await self.run_link(alert.tenant_id) if self.run_link is not None else None
        seen = await self.shown_run(alert.tenant_id, alert.situation) if self.shown_run is not None else None
        return alert_blocks(alert, run_url, seen)

    async def update_digest(self, digest: Digest, members: Sequence[Alert]) -> None:
        await self._edit(digest.message_ref, text=digest_text(members), blocks=digest_blocks(digest, members))

    async def reply(self, message_ref: str, text: str) -> None:
        channel, ts = _where(message_ref)
        # core composes replies from data (reasons, resolutions): shown as plain words, never as mentions or links
        await self._paced(self.client.chat_postMessage, channel=channel, thread_ts=ts, text=safe(text, 3900))

    async def announce(self, line: Announcement, thread: str | None) -> str:
        text = announcement_text(line)  # rendered here: its mentions are the bot's own, its data escaped
        if thread is not None:
            channel, ts = _where(thread)
            response = await self._paced(self.client.chat_postMessage, channel=channel, thread_ts=ts, text=text)
        else:
            response = await self._paced(self.client.chat_postMessage, channel=self.actions_channel, text=text)
        return f"{response['channel']}/{response['ts']}"

    async def announce_batch(self, batch: Batch, left_today: int) -> str:
        text = auto_batch_text(batch, left_today)
        return await self._post(text=text, blocks=auto_batch_blocks(batch, text))

    async def remind_reset(self, thread: str | None, resetter: str, nudges: Sequence[ResetNudge]) -> None:
        text = reset_nudge_text(resetter, nudges)
        if thread is None:  # a DM: chat.postMessage to the user id opens the app's conversation with them
            await self._paced(self.client.chat_postMessage, channel=resetter, text=text)
            return
        channel, ts = _where(thread)
        await self._paced(self.client.chat_postMessage, channel=channel, thread_ts=ts, text=text)

    async def _edit(self, message_ref: str | None, **message: Any) -> None:
        channel, ts = _where(message_ref)
        await self._paced(self.client.chat_update, channel=channel, ts=ts, **message)

    async def _post(self, **message: Any) -> str:
        response = await self._paced(self.client.chat_postMessage, channel=self.channel, **message)
        return f"{response['channel']}/{response['ts']}"

    async def _paced(self, method: Any, **arguments: Any) -> Any:
        give_up = time.monotonic() + self.max_wait
        async with self._gate:
            while True:
                wait = self._last + self.min_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                try:
                    return await self._call(method, **arguments)
                except RateLimited as e:
                    if time.monotonic() + e.seconds > give_up:
                        raise NotifyError(f"{e}; left for a later tick") from e
                    await asyncio.sleep(e.seconds)
                finally:
                    self._last = time.monotonic()

    @staticmethod
    async def _call(method: Any, **arguments: Any) -> Any:
        try:
            return await method(**arguments)
        except RateLimited:
            raise
        except SlackApiError as e:
            raise NotifyError(
                f"Slack refused {method.__name__}: {e.response.get('error', e.response.status_code)}"
            ) from e
        except (SlackClientError, OSError, TimeoutError) as e:
            raise NotifyError(f"Slack unreachable: {e}") from e


def _where(message_ref: str | None) -> tuple[str, str]:
    if message_ref is None:
        raise NotifyError("that message was never posted")
    channel, _, ts = message_ref.partition("/")
    return channel, ts
