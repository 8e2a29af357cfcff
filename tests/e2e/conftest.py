"""The bot as Slack drives it: the real aiohttp endpoint on a free port, signed requests, and a local
Slack stand-in that records what the bot sent. Tenants live in a real SQLite store; the engine is the
fake, so each test can put a tenant in any situation of the decision table at will."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import TenantBotApp, create_app, slack_client
from bot.authz import GroupDirectory
from bot.deps import BotDeps
from bot.http import EVENTS_PATH, start_http
from bot.installation import InstallationCheck
from bot.notifier import SlackNotifier
from core.alerting.announcements import Announcer
from core.alerting.controls import AlertControls
from core.alerting.scanner import Scanner
from core.authz import AllowList, Authorizer, Policy
from core.bounded import BoundedFreezes, bounded_ports
from core.decisions import Limits
from core.domain import Action
from core.freeze import Switch
from core.history import AuditHistory
from core.persistence import Database, open_database
from core.ports import TenantStore
from core.presses import Presses
from core.results import Timeouts
from core.run_links import RunLinks
from core.service import TenantService
from core.turns import Turns
from core.wedged import WedgeFinder
from tests.e2e.serving import command_body, press_body, signed_headers
from tests.e2e.slack_stub import SlackStub, free_port
from tests.fakes import FakeEngine

SECRET = "e2e-signing-secret"
RUNBOOK = "https://runbooks.example.com/reset"
ACTIONS_CHANNEL = "C7"  # where actions with no open alert are announced (alerts go to C9)
DEFAULT_POLICY = Policy({a: AllowList(everyone=True) for a in (Action.RESET, Action.RETRY, Action.CANCEL)})


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Bot:
    url: str
    slack: SlackStub
    store: TenantStore
    engine: FakeEngine
    service: TenantService
    scanner: Scanner
    session: aiohttp.ClientSession
    deps: BotDeps
    client: AsyncWebClient
    app: TenantBotApp
    announcer: Announcer
    database: Database
    presses: int = field(default=0)

    async def post(
        self, body: str, *, timestamp: int | None = None, secret: str = SECRET, headers: dict[str, str] | None = None
    ) -> tuple[int, float]:
        status, _, elapsed = await self.exchange(body, timestamp=timestamp, secret=secret, headers=headers)
        return status, elapsed

    async def exchange(
        self, body: str, *, timestamp: int | None = None, secret: str = SECRET, headers: dict[str, str] | None = None
    ) -> tuple[int, str, float]:
        """Sign and post `body`: the status, the answer's text and how long the answer took."""
        sent = {**signed_headers(body, secret=secret, timestamp=timestamp), **(headers or {})}
        started = time.monotonic()
        async with self.session.post(self.url, data=body.encode(), headers=sent) as response:
            answer = await response.text()
            return response.status, answer, time.monotonic() - started

    def command_body(self, text: str, user: str = "U1", response: str = "r1") -> str:
        return command_body(text, self.slack.response_url(response), user=user)

    def press_body(
        self,
        action_id: str,
        value: str,
        block_id: str,
        user: str = "U1",
        response: str = "r1",
        extra: dict[str, Any] | None = None,
        ephemeral: bool = True,
        fields: dict[str, Any] | None = None,
    ) -> str:
        """A signed-ready block_actions body; `extra` goes into the action, `fields` replace top-level ones."""
        self.presses += 1
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "action_ts": f"{time.time():.6f}{self.presses}",
            **(extra or {}),
        }
        return press_body(action, self.slack.response_url(response), user=user, ephemeral=ephemeral, fields=fields)


async def _start_bot(
    tmp_path: Path,
    *,
    policy: Policy = DEFAULT_POLICY,
    store: TenantStore | None = None,
    read_timeout: float = 1.0,
    links: RunLinks | None = None,
) -> tuple[Bot, web.AppRunner, Database]:
    slack = SlackStub()
    await slack.start()
    database = await open_database(f"sqlite:///{tmp_path / 'bot.db'}")  # alerts and leases; tenants unless given
    store = store or database.tenants
    engine = FakeEngine()
    limits = Limits(stuck_after=timedelta(minutes=10))
    timeouts = Timeouts(read=timedelta(seconds=read_timeout), engine=timedelta(seconds=read_timeout))
    turns = Turns()  # the answers to commands at once, stepping aside while the engine reads
    bounded_store, bounded_engine = bounded_ports(store, engine, timeouts, turns)  # as the composition root wraps them
    switch = Switch(BoundedFreezes(database.freezes, timeouts.read), clock=now)  # the read-only switch
    client = slack_client("xoxb-e2e", slack.api_url)
    alerts = database.alerts
    links = links or RunLinks()
    tenant_link = links.for_tenants(bounded_store)
    notifier = SlackNotifier(client, "C9", min_interval=0, run_link=tenant_link, actions_channel=ACTIONS_CHANNEL)
    announcer = Announcer(database.announcements, alerts, notifier, holder="e2e", clock=now)
    service = TenantService(
        bounded_store, bounded_engine, limits=limits, clock=now, switch=switch, after_action=announcer.nudge
    )
    finder = WedgeFinder(bounded_store, bounded_engine, limits)
    leases = database.leases
    scanner = Scanner(store, alerts, notifier, finder, leases=leases, holder="e2e", clock=now, freezes=database.freezes)
    authorizer = Authorizer(policy, GroupDirectory(client))
    controls = AlertControls(store, alerts, scanner.delivery, authorizer, clock=now)
    history = AuditHistory(bounded_store)
    presses = Presses(service, authorizer)
    parts = (presses, RUNBOOK, now, finder, timeouts.read, history, links, tenant_link)
    deps = BotDeps(*parts, alert_controls=controls, command_work=turns)
    installation = InstallationCheck(client)
    assert await installation.learn() is None  # from the stand-in's auth.test and bots.info: T1, A1
    slack.calls.clear()  # tests look at what the bot sends while it serves
    app = create_app(signing_secret=SECRET, client=client, installation=installation, deps=deps)
    port = free_port()
    runner = await start_http(app, port, host="127.0.0.1")
    session = aiohttp.ClientSession()
    url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
    bot = Bot(url, slack, store, engine, service, scanner, session, deps, client, app, announcer, database)
    return bot, runner, database


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    policy: Policy = DEFAULT_POLICY,
    store: TenantStore | None = None,
    read_timeout: float = 1.0,
    links: RunLinks | None = None,
) -> AsyncIterator[Bot]:
    """The bot on its real endpoint with its Slack stand-in, torn down afterwards."""
    started, runner, database = await _start_bot(
        tmp_path, policy=policy, store=store, read_timeout=read_timeout, links=links
    )
    try:
        yield started
    finally:
        await _stop_bot(started, runner, database)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path) as started:
        yield started


async def _stop_bot(bot: Bot, runner: web.AppRunner, database: Database) -> None:
    await bot.announcer.close()
    await bot.session.close()
    await runner.cleanup()
    await bot.app.close()
    await bot.slack.stop()
    await database.close()
