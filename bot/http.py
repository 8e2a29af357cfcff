"""The HTTP face of the app: aiohttp serving `POST /slack/events` (commands and interactivity) and
`GET /healthz`, on the same event loop as everything else — not Bolt's development server."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

EVENTS_PATH = "/slack/events"


def web_app(app: AsyncApp) -> web.Application:
    async def events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    application = web.Application(client_max_size=1024 * 1024)
    application.router.add_post(EVENTS_PATH, events)
    application.router.add_get("/healthz", health)
    return application


async def start_http(app: AsyncApp, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    """Start serving; the caller awaits `runner.cleanup()` to stop."""
    runner = web.AppRunner(web_app(app), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
