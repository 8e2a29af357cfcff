"""Socket Mode: the app connects out to Slack over a websocket instead of serving a public endpoint.

Slack's requests then arrive as envelopes, already authenticated by the app-level token, and go
through the same dispatch as HTTP requests: the same app and workspace check (bot/installation.py),
the same listeners.
"""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp


async def connect_socket_mode(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    """Open the connection (apps.connections.open on the app's Web API client); `close_async()` ends it."""
    handler = AsyncSocketModeHandler(app, app_token, web_client=app.client)
    await handler.connect_async()
    return handler
