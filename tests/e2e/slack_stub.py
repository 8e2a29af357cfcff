"""A local HTTP server standing in for Slack: the Web API under /api/ and response_urls under /response/.

It records every call (and when it arrived) so tests assert what the bot sent and when, and can be
scripted to answer a method with failures first (429 with Retry-After, 500) to exercise the bot's
retries, and to make a response_url fail or hang.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from core.adapters.dev_server_state import free_port
from tests.e2e.slack_limits import RESPONSE_URL_USES, rejection


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)  # when it arrived, on the test's monotonic clock
    retry_after: float | None = None  # the Retry-After the stand-in answered with, if any


@dataclass
class SlackStub:
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    scripted: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    group_members: dict[str, list[str]] = field(default_factory=dict)
    envelopes: list[dict[str, Any]] = field(default_factory=list)  # pushed to a Socket Mode client
    response_uses: dict[str, int] = field(default_factory=dict)  # posts per response_url
    response_failures: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # scripted (status, body)
    delays: dict[str, float] = field(default_factory=dict)  # Web API method -> seconds before answering
    response_delays: dict[str, float] = field(default_factory=dict)  # response_url name -> seconds before answering
    team_id: str = "T1"  # the workspace the app is installed in (auth.test)
    app_id: str = "A1"  # the bot's app (bots.info)
    enterprise_id: str | None = None  # set: an org-wide install on Enterprise Grid
    refusals: dict[str, dict[str, str]] = field(default_factory=dict)  # method -> Slack's error fields (200, ok: false)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.url}/response/{name}"

    def fail(self, method: str, *answers: tuple[int, dict[str, str]]) -> None:
        """Answer the next calls of `method` with these (status, headers) before answering normally."""
        self.scripted.setdefault(method, []).extend(answers)

    def rate_limit(self, method: str, times: int, retry_after: float) -> None:
        """Answer the next `times` calls of `method` with 429 and this Retry-After."""
        self.fail(method, *[(429, {"Retry-After": f"{retry_after:g}"})] * times)

    def arrivals(self, path_prefix: str) -> list[Call]:
        """Every call to `path_prefix`, accepted or not, in the order it arrived."""
        return [c for c in self.calls if c.path.startswith(path_prefix)]

    def sent(self, path_prefix: str, ok_only: bool = True) -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.path.startswith(path_prefix) and (c.status == 200 or not ok_only)]

    async def wait_for(self, path_prefix: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.sent(path_prefix)) < count and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return self.sent(path_prefix)

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts and digests the bot posted: messages with blocks, not thread replies or one-line
        announcements (bot/blocks/announcement.py)."""
        return [m for m in self.sent("/api/chat.postMessage") if "blocks" in m and "thread_ts" not in m]

    async def wait_for_alerts(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.alerts()) < count and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return self.alerts()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        raw = await request.text()
        if request.content_type == "application/json":
            return dict(json.loads(raw or "{}"))
        return {k: v[0] for k, v in parse_qs(raw).items()}

    async def _api(self, request: web.Request) -> web.Response:
        method, body = request.match_info["method"], await self._body(request)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        if method in self.refusals:
            self.calls.append(Call(f"/api/{method}", body, 200))
            return web.json_response({"ok": False, **self.refusals[method]})
        script = self.scripted.get(method)
        if script:
            status, headers = script.pop(0)
            wait = float(headers["Retry-After"]) if "Retry-After" in headers else None
            self.calls.append(Call(f"/api/{method}", body, status, retry_after=wait))
            return web.json_response(
                {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"},
                status=status,
                headers=headers,
            )
        if method in ("chat.postMessage", "chat.update"):  # Slack answers 200 with ok: false, as here
            blocks = body.get("blocks")
            message = {**body, "blocks": json.loads(blocks) if isinstance(blocks, str) else blocks}
            if (problem := rejection(message)) is not None:
                self.calls.append(Call(f"/api/{method}", body, 400))  # recorded as refused: not in sent()
                return web.json_response({"ok": False, "error": problem})
        self.calls.append(Call(f"/api/{method}", body, 200))
        return web.json_response(self._answer(method, body))

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        if method == "auth.test":
            grid = {"enterprise_id": self.enterprise_id, "is_enterprise_install": True} if self.enterprise_id else {}
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "T",
                "user": "tenantbot",
                "team_id": self.team_id,
                "user_id": "UBOT",
                "bot_id": "BBOT",
                **grid,
            }
        if method == "bots.info":
            if body.get("bot") != "BBOT":
                return {"ok": False, "error": "bot_not_found"}
            return {"ok": True, "bot": {"id": "BBOT", "deleted": False, "name": "tenantbot", "app_id": self.app_id}}
        if method in ("chat.postMessage", "chat.update"):
            return {
                "ok": True,
                "channel": body.get("channel", "C1"),
                "ts": body.get("ts") or f"100.{next(self._ts):04d}",
            }
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.group_members.get(str(body.get("usergroup")), [])}
        return {"ok": True}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, push the queued envelopes, record the acks the app sends back."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1})
        while self.envelopes:
            await socket.send_json(self.envelopes.pop(0))
        async for message in socket:
            if message.type == web.WSMsgType.TEXT:
                self.calls.append(Call("/socket/ack", json.loads(message.data), 200))
        return socket

    async def _response(self, request: web.Request) -> web.Response:
        """A response_url: validated like Slack does (blocks, sizes), usable 5 times, failures scriptable."""
        name, body = request.match_info["name"], await self._body(request)
        if name in self.response_delays:
            await asyncio.sleep(self.response_delays[name])
        self.response_uses[name] = self.response_uses.get(name, 0) + 1
        scripted = self.response_failures.get(name)
        status, answer = scripted.pop(0) if scripted else (200, "ok")
        if status == 200 and self.response_uses[name] > RESPONSE_URL_USES:
            status, answer = 404, "used_url"
        if status == 200 and (problem := rejection(body)) is not None:
            status, answer = 400, problem
        self.calls.append(Call(f"/response/{name}", body, status))
        return web.Response(status=status, text=answer)
