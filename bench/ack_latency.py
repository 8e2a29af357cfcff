"""Ack latency of `/tenant` and of a button press on the real HTTP endpoint, under concurrency.

    python -m bench.ack_latency [--requests 400] [--concurrency 32] [--engine-delay 0]

Starts the app exactly as the end-to-end tests do (aiohttp endpoint, SQLite store, the Slack stand-in
for the Web API and response_url), sends signed requests, and prints p50/p95/p99 of the HTTP answer
(the ack Slack waits for) and requests per second. `--engine-delay 10` makes the engine hang, to show
the ack does not wait for it. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from core.decisions import Situation
from tests.e2e.conftest import running_bot
from tests.e2e.situations import make


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--engine-delay", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with running_bot(Path(tmp), read_timeout=2.0) as bot:
            await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
            bot.engine.delay = args.engine_delay
            gate = asyncio.Semaphore(args.concurrency)

            async def one(i: int) -> float:
                body = bot.command_body("acme-42", response=f"b{i}")
                async with gate:
                    status, elapsed = await bot.post(body)
                assert status == 200
                return elapsed * 1000

            started = time.perf_counter()
            latencies = sorted(await asyncio.gather(*(one(i) for i in range(args.requests))))
            wall = time.perf_counter() - started
            q = statistics.quantiles(latencies, n=100)
            print(
                f"/tenant acks: {args.requests} requests, concurrency {args.concurrency}, "
                f"engine delay {args.engine_delay:g} s"
            )
            print(
                f"  p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {latencies[-1]:.1f} ms, "
                f"{args.requests / wall:.0f} requests/s"
            )
            await bot.slack.wait_for("/response/", count=args.requests, timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
