"""The load client: signed `/tenant <id>` requests in the form body Slack sends, at a fixed concurrency.

Closed loop: `concurrency` workers each send their next request as soon as the previous one is
done. In the *ack loop* that is when the HTTP answer (the ack) is back: the server's work after the
ack piles up if it cannot keep pace, as when many operators fire commands at once. In the *card
loop* it is when the card has arrived on the response_url (a `TimedStub` run by this process): each
worker is one operator waiting for their card, so time to card is not inflated by a backlog.

Each request has its own response_url, named after its batch, so the card's arrival is matched to
the moment the request was sent (both `time.time()`, one machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bench.standin import Arrival, TimedStub
from tests.e2e.slack_stub import SlackStub

# the installation the stand-in reports (auth.test, bots.info): serve refuses requests for any other
TEAM, APP = SlackStub.team_id, SlackStub.app_id

CARD_WAIT = 20.0  # seconds a worker of the card loop waits for its card


@dataclass(frozen=True)
class Request:
    name: str  # of its response_url
    text: str
    kind: str  # what the id is: in_flight, wedged, active, unknown, hung, ...


@dataclass(frozen=True)
class Sent:
    request: Request
    at: float  # time.time() when sent
    ack_ms: float
    status: int
    card: Arrival | None = None  # in the card loop


@dataclass(frozen=True)
class Batch:
    sent: list[Sent]
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.sent) / self.seconds


def command_body(text: str, response_url: str, user: str) -> str:
    """The form Slack posts for a slash command (https://api.slack.com/interactivity/slash-commands)."""
    return urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": TEAM,
            "team_domain": "example",
            "channel_id": "C2147483705",
            "channel_name": "ops",
            "user_id": user,
            "user_name": "oncall",
            "command": "/tenant",
            "text": text,
            "api_app_id": APP,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


async def run_batch(
    session: aiohttp.ClientSession,
    url: str,
    secret: str,
    requests: Sequence[Request],
    concurrency: int,
    response_base: str,
    answers: TimedStub | None = None,
) -> Batch:
    """Send `requests`; with `answers` (the card loop) their response_urls are its, and each worker
    waits for its card before sending the next."""
    verifier = SignatureVerifier(secret)
    response_base = answers.response_url("") if answers is not None else response_base
    pending = iter(requests)
    sent: list[Sent] = []

    async def worker(n: int) -> None:
        for request in pending:
            body = command_body(request.text, f"{response_base}{request.name}", f"U{n:04d}")
            ts = str(int(time.time()))
            signature = verifier.generate_signature(timestamp=ts, body=body) or ""
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature,
            }
            card = answers.expect(request.name) if answers is not None else None
            at, started = time.time(), time.perf_counter()
            try:
                async with session.post(url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError:
                status = 0
            ack_ms = (time.perf_counter() - started) * 1000
            arrival = None
            if card is not None and status == 200:
                with contextlib.suppress(TimeoutError):
                    arrival = await asyncio.wait_for(card, CARD_WAIT)
            sent.append(Sent(request, at, ack_ms, status, arrival))

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return Batch(sent, time.perf_counter() - started)


def quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (nan when there are fewer than two values)."""
    if len(values) < 2:
        return (values[0],) * 3 if values else (float("nan"),) * 3
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94], q[98]
