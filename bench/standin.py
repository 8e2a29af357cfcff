"""The Slack stand-in (tests/e2e/slack_stub.py) as its own process, noting when each answer arrives.

    python -m bench.standin --port 4100

It answers the Web API (auth.test, chat.postMessage, ...) and checks every response_url message as
Slack would, like in the end-to-end tests. It also notes, per response_url, when the first message
arrived (time.time(), comparable with the load client's on the same machine), its status and whether
it was a card (blocks). `GET /api/bench.arrivals?prefix=p` hands over, and forgets, the arrivals of
the response_urls named `p...`. It keeps no message bodies, so long runs stay small. The load client
also runs one in its own process for the card loop, where each worker awaits its card (`expect`).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.e2e.slack_stub import SlackStub

Arrival = tuple[float, int, bool]  # time.time() it arrived, the status it got, whether it was a card


@dataclass
class TimedStub(SlackStub):
    """The stand-in, noting each response_url's first arrival; one awaited with `expect` resolves it instead."""

    first_arrivals: dict[str, Arrival] = field(default_factory=dict)
    waiting: dict[str, asyncio.Future[Arrival]] = field(default_factory=dict)

    def expect(self, name: str) -> asyncio.Future[Arrival]:
        self.waiting[name] = future = asyncio.get_running_loop().create_future()
        return future

    async def _response(self, request: web.Request) -> web.Response:
        at = time.time()
        answer = await super()._response(request)
        name = request.match_info["name"]
        arrival = (at, answer.status, "blocks" in self.calls[-1].body)
        self.calls.clear()
        if (future := self.waiting.pop(name, None)) is not None:
            future.set_result(arrival)
        elif name not in self.first_arrivals:
            self.first_arrivals[name] = arrival
        return answer

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] != "bench.arrivals":
            answer = await super()._api(request)
            self.calls.clear()
            return answer
        prefix = request.query.get("prefix", "")
        names = [n for n in self.first_arrivals if n.startswith(prefix)]
        taken = {name: self.first_arrivals.pop(name) for name in names}
        return web.json_response(taken)


async def arrivals(session: aiohttp.ClientSession, standin: str, prefix: str, expected: int) -> dict[str, list[float]]:
    """For the load client: the arrivals of the response_urls named `prefix...`, waiting up to 20 s for
    `expected` of them. Each is [time.time() of arrival, status, whether it was a card]."""
    found: dict[str, list[float]] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while len(found) < expected and loop.time() < deadline:
        async with session.get(f"{standin}/api/bench.arrivals", params={"prefix": prefix}) as response:
            found |= await response.json()
        await asyncio.sleep(0.1)
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    stub = TimedStub(port=args.port)
    await stub.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await stub.stop()


if __name__ == "__main__":
    asyncio.run(main())
