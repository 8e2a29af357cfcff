"""Getting an answer to the person who sent a command or pressed a button, whatever fails on the way.

An answer goes through the request's response_url (Bolt's `respond`). That can fail after the work is
done: Slack refuses the message (too large, invalid blocks), the response_url is used up, answers 5xx,
or does not answer at all. Since an action may have run by then, the user must still be told what was
done: through a short plain-text answer, else chat.postEphemeral to the presser in the channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, NamedTuple

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.payload import presser_in_channel
from bot.replies import EPHEMERAL, REFUSED_BY_SLACK, failure_text, log_failure, not_updated, problem_text
from bot.text import cut

log = logging.getLogger(__name__)
RESPOND_SECONDS = 5.0  # a response_url that has not answered by then is taken as failed (the client waits 30 s)


class Answer:
    """The answer to one command or press, and the ways to reach the person who sent it.

    `send(work)` sends what `work` answers; if `work` fails, one clear line instead. Once an action ran,
    `ran(note)` records what was done, and from then on every failure (building the card, Slack
    refusing it, a response_url that is used up, failing or silent) still tells the user that note and
    why the card could not be updated. A message Slack does not take is followed by a short plain-text
    one through the response_url (unless it went silent), then through chat.postEphemeral to the
    presser in the channel of the press; if nothing gets through, the log says what was done.
    """

    def __init__(
        self, respond: AsyncRespond, what: str, *, client: AsyncWebClient | None = None, body: Any = None
    ) -> None:
        self.respond, self.what, self.client = respond, what, client
        self.presser = presser_in_channel(body)
        self.done: str | None = None

    def ran(self, note: str) -> None:
        """An action ran, or was refused and audited: say `note` (mrkdwn, already safe) whatever fails next."""
        self.done = note

    async def send(self, work: Awaitable[dict[str, Any] | None]) -> None:
        try:
            message = await work
        except Exception as e:
            log_failure(self.what, e)
            text = failure_text(e) if self.done is None else not_updated(self.done, problem_text(e))
            message = {"text": text, **EPHEMERAL}
        if message is not None:
            await self.deliver(message)

    async def deliver(self, message: dict[str, Any]) -> bool:
        """Send `message`; True if Slack took it as it is."""
        unsent = await _send(self.respond, message)
        if unsent is None:
            return True
        text = str(message.get("text", ""))
        log.warning("Slack refused an answer to %s (%s): %s", self.what, unsent.why, cut(text, 200))
        if self.done is not None:
            short = not_updated(self.done, f"Slack did not take it ({unsent.why})")
        else:
            short = cut(text, 1500) + REFUSED_BY_SLACK
        if unsent.url_answers and await _send(self.respond, {"text": short, **EPHEMERAL}) is None:
            return False
        if not await self._ephemeral(short):
            log.error("could not answer %s at all; the answer was: %s", self.what, cut(short, 1500))
        return False

    async def _ephemeral(self, text: str) -> bool:
        if self.client is None or self.presser is None:
            return False
        channel, user = self.presser
        try:
            await asyncio.wait_for(
                self.client.chat_postEphemeral(channel=channel, user=user, text=text), RESPOND_SECONDS
            )
        except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as e:
            log.warning("chat.postEphemeral to %s in %s failed: %s", user, channel, e or "no answer")
            return False
        return True


class Unsent(NamedTuple):
    why: str
    url_answers: bool  # the response_url answered (a refusal): a shorter message may still get through


async def _send(respond: AsyncRespond, message: dict[str, Any]) -> Unsent | None:
    """`respond()` does not raise when Slack refuses a message (too large, invalid blocks, a used-up
    response_url): it returns the webhook's status and body, checked here. Bounded: a response_url
    that does not answer within RESPOND_SECONDS is taken as failed."""
    try:
        response = await asyncio.wait_for(respond(**message), RESPOND_SECONDS)
    except TimeoutError:
        return Unsent(f"no answer within {RESPOND_SECONDS:g} s", url_answers=False)
    except (aiohttp.ClientError, OSError, ValueError) as e:
        return Unsent(f"{type(e).__name__}: {e}", url_answers=False)
    if response.status_code != 200:
        return Unsent(f"HTTP {response.status_code} {cut(str(response.body), 200)}", url_answers=True)
    return None


async def reply(respond: AsyncRespond, **message: Any) -> bool:
    """Answer through the response_url; a refusal is logged and followed by a short plain-text answer."""
    return await Answer(respond, "an answer").deliver(message)


async def answered(respond: AsyncRespond, what: str, work: Awaitable[dict[str, Any] | None]) -> None:
    """Send what `work` answers (nothing for None); any failure becomes one clear private line."""
    await Answer(respond, what).send(work)
