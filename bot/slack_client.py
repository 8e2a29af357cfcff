"""The Web API client, with Slack's Retry-After honoured for every call and every caller.

Slack answers 429 with a Retry-After when a method (for chat.postMessage: a channel) is called too
often, and calls made before that time are refused again. So after a 429, no call of that method to
that channel leaves this process before its Retry-After has passed: `SlackClient` raises `RateLimited`
at once instead, exactly as for the 429 itself, and the caller decides. The alert notifier waits when
the pause fits its budget and otherwise leaves the message pending for a later tick; a listener fails
fast (its user is waiting) and says "try again". `serve` shares one client between the app and the
notifier, so a pause learned by one holds for the other, across scan ticks. Every call Slack refuses
(an error, a 429) or that does not reach it is counted in the app's metrics (bot/metrics.py), by method.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.metrics import Metrics

DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 names no usable Retry-After
Place = tuple[str, str | None]  # (Web API method, channel or None)


class RateLimited(SlackApiError):
    """Slack asked us to wait `seconds` before calling `method` (in `channel`) again.

    A SlackApiError shaped like Slack's 429 (error "ratelimited", Retry-After: the wait left), so code
    that knows Slack's 429, such as slack_sdk's Socket Mode client, treats a call held back here alike."""

    def __init__(self, method: str, channel: str | None, seconds: float, response: AsyncSlackResponse) -> None:
        where = f" in {channel}" if channel else ""
        self.reason = f"Slack asked to wait {seconds:.1f} s before calling {method}{where} again"
        super().__init__(self.reason, response)
        self.method, self.channel, self.seconds = method, channel, seconds

    def __str__(self) -> str:
        return self.reason


class Pauses:
    """Until when each (method, channel) must not be called, on time.monotonic(); shared by the clients
    of one process (Bolt makes a client per request, see `SlackClient.alike`)."""

    def __init__(self) -> None:
        self._until: dict[Place, float] = {}

    def left(self, place: Place) -> float:
        return self._until.get(place, 0.0) - time.monotonic()

    def pause(self, place: Place, seconds: float) -> None:
        now = time.monotonic()
        for passed in [p for p, until in self._until.items() if until <= now]:
            del self._until[passed]
        self._until[place] = max(self._until.get(place, 0.0), now + seconds)


class SlackClient(AsyncWebClient):
    def __init__(self, *args: Any, pauses: Pauses | None = None, metrics: Metrics | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pauses = pauses or Pauses()
        self.metrics = metrics

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        place = (api_method, channel_of(kwargs))
        wait = self.pauses.left(place)
        if wait > 0:
            raise RateLimited(api_method, place[1], wait, self._held_back(api_method, wait))
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as e:
            if e.response.status_code != 429:
                self._count(api_method, rate_limited=False)
                raise
            self._count(api_method, rate_limited=True)
            seconds = retry_after(e.response.headers)
            self.pauses.pause(place, seconds)
            raise RateLimited(api_method, place[1], seconds, e.response) from e
        except Exception:  # the network, a timeout: Slack was not reached
            self._count(api_method, rate_limited=False)
            raise

    def _count(self, api_method: str, *, rate_limited: bool) -> None:
        if self.metrics is not None:
            (self.metrics.slack_rate_limited if rate_limited else self.metrics.slack_errors).labels(api_method).inc()

    def _held_back(self, api_method: str, wait: float) -> AsyncSlackResponse:
        """The 429 Slack would answer a call made now, without making it."""
        return AsyncSlackResponse(
            client=self,
            http_verb="POST",
            api_url=f"{self.base_url}{api_method}",
            req_args={},
            data={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": str(math.ceil(wait))},
            status_code=429,
        )

    def alike(self, other: AsyncWebClient) -> SlackClient:
        """`other` (Bolt's per-request copy of this client, whose token a request may change) as a client
        that shares this one's pauses."""
        twin = SlackClient(
            token=other.token,
            base_url=other.base_url,
            timeout=other.timeout,
            ssl=other.ssl,
            proxy=other.proxy,
            session=other.session,
            trust_env_in_session=other.trust_env_in_session,
            headers=other.headers,
            logger=other.logger,
            retry_handlers=other.retry_handlers,
            pauses=self.pauses,
            metrics=self.metrics,
        )
        twin.default_params = dict(other.default_params)  # e.g. the request's team_id
        return twin


def channel_of(call: Mapping[str, Any]) -> str | None:
    """The channel a Web API call names, wherever slack_sdk put its arguments (json, params or form data)."""
    for part in ("json", "params", "data"):
        arguments = call.get(part)
        if isinstance(arguments, Mapping) and isinstance(arguments.get("channel"), str):
            return str(arguments["channel"])
    return None


def retry_after(headers: Mapping[str, Any] | None) -> float:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                break
            return max(0.0, seconds) if math.isfinite(seconds) else DEFAULT_RETRY_AFTER
    return DEFAULT_RETRY_AFTER
