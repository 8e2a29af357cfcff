"""The Slack stand-in (tests/e2e/slack_stub.py) as its own process, noting when each answer arrives.

    python -m bench.standin --port 4100

It answers the Web API (auth.test, chat.postMessage, ...) and checks every response_url message as
Slack would, like in the end-to-end tests. It also notes, per response_url, when the first message
arrived (time.time(), comparable with the load client's on the same machine), its status and whether
it was a card (blocks). `GET /api/bench.arrivals?prefix=p` hands over, and forgets, the arrivals of
the response_urls named `p...`. It keeps no message bodies, so long runs stay small.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from dataclasses import dataclass, field

from aiohttp import web

from tests.e2e.slack_stub import SlackStub


@dataclass
class TimedStub(SlackStub):
    arrivals: dict[str, tuple[float, int, bool]] = field(default_factory=dict)  # name -> (at, status, card)

    async def _response(self, request: web.Request) -> web.Response:
        at = time.time()
        answer = await super()._response(request)
        name = request.match_info["name"]
        if name not in self.arrivals:
            self.arrivals[name] = (at, answer.status, "blocks" in self.calls[-1].body)
        self.calls.clear()
        return answer

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] != "bench.arrivals":
            answer = await super()._api(request)
            self.calls.clear()
            return answer
        prefix = request.query.get("prefix", "")
        taken = {name: self.arrivals.pop(name) for name in [n for n in self.arrivals if n.startswith(prefix)]}
        return web.json_response(taken)


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
