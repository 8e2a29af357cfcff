"""The load client: signed `/tenant <id>` requests in the form body Slack sends, at a fixed concurrency.

Closed loop: `concurrency` workers each send the next request as soon as their previous one was
answered. Each request has its own response_url on the stand-in, named after the batch, so the
card's arrival can be matched to the moment the request was sent (both `time.time()`, one machine).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier


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
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": "C2147483705",
            "channel_name": "ops",
            "user_id": user,
            "user_name": "oncall",
            "command": "/tenant",
            "text": text,
            "api_app_id": "A123456",
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
) -> Batch:
    verifier = SignatureVerifier(secret)
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
            at, started = time.time(), time.perf_counter()
            try:
                async with session.post(url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError:
                status = 0
            sent.append(Sent(request, at, (time.perf_counter() - started) * 1000, status))

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return Batch(sent, time.perf_counter() - started)


def quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (nan when there are fewer than two values)."""
    if len(values) < 2:
        return (values[0],) * 3 if values else (float("nan"),) * 3
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94], q[98]
