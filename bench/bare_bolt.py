"""The floor: a bare async slack-bolt app whose `/tenant` only acks, served by aiohttp in its own process.

    python -m bench.bare_bolt --port 3100 --secret S --api-url http://127.0.0.1:4100/api/

Same signing secret and the same Web API stand-in as the `serve` it is compared with (Bolt calls
auth.test once, as tenantbot does), and Bolt's own aiohttp adapter: whatever tenantbot costs beyond
this is tenantbot's. `GET /healthz` answers when it is up.
"""

from __future__ import annotations

import argparse

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

EVENTS_PATH = "/slack/events"


def build(secret: str, api_url: str, port: int) -> web.Application:
    app = AsyncApp(signing_secret=secret, client=AsyncWebClient(token="xoxb-bench", base_url=api_url))

    @app.command("/tenant")
    async def tenant(ack: AsyncAck) -> None:
        await ack()

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    served = app.web_app(path=EVENTS_PATH, port=port)
    served.router.add_get("/healthz", health)
    return served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--api-url", required=True)
    args = parser.parse_args()
    web.run_app(
        build(args.secret, args.api_url, args.port), host="127.0.0.1", port=args.port, access_log=None, print=None
    )


if __name__ == "__main__":
    main()
