"""The bot as Slack drives it: the real aiohttp endpoint on a free port, signed requests, and a local
Slack stand-in that records what the bot sent. Tenants live in a real SQLite store; the engine is the
fake, so each test can put a tenant in any situation of the decision table at will."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
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
from bot.batch_runs import BatchRuns
from bot.deps import BotDeps
from bot.http import EVENTS_PATH, start_http
from bot.installation import InstallationCheck
from bot.metrics import Metrics
from bot.notifier import SlackNotifier
from bot.seen_values import pack
from core.alerting.announcements import Announcer
from core.alerting.batch_offers import BatchOffers
from core.alerting.controls import AlertControls
from core.alerting.scanner import Scanner
from core.approvals import Approvals
from core.authz import AllowList, Authorizer, Policy
from core.batch_runner import BatchRunner
from core.bounded import BoundedApprovals, BoundedFreezes, bounded_ports
from core.decisions import Limits
from core.domain import Action
from core.freeze import Switch
from core.history import AuditHistory
from core.home import HomeReader
from core.persistence import Database, open_database
from core.ports import TenantStore
from core.presses import Presses
from core.results import Timeouts
from core.run_links import RunLinks
from core.seen import Seen, shown_runs
from core.service import TenantService
from core.turns import Turns
from core.wedged import WedgeFinder
from tests.e2e.serving import command_body, press_body, signed_headers, submission_body
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
    metrics: Metrics
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

    async def shown(self, tenant_id: str = "acme-42") -> str:
        """The value a fresh card's action buttons carry now (what the card shows: bot/seen_values.py)."""
        view = await self.service.view(tenant_id)
        return pack(Seen.of(view.tenant, view.assessment.situation, view.at))

    async def act(
        self,
        action_id: str,
        tenant_id: str = "acme-42",
        *,
        block: str | None = None,
        value: str | None = None,
        reason: str = "wedged since the failover",
        **options: Any,
    ) -> str:
        """Press `action_id` on a fresh card (or `block`, e.g. an alert's) as Slack posts it and, when the
        press opens a preview, submit it with `reason`, as the presser would. Returns the submission body
        (or the press's, when no preview opened: a refusal or Retry)."""
        value = value if value is not None else await self.shown(tenant_id)
        opened, answered = len(self.slack.opened), len(self.slack.calls)
        press = self.press_body(action_id, value, block or f"tenant_actions:{tenant_id}", **options)
        await self.post(press)
        for _ in range(250):  # until the preview opens, or the press is answered some other way
            if len(self.slack.opened) > opened or any(_answer(c.path) for c in self.slack.calls[answered:]):
                break
            await asyncio.sleep(0.02)
        if len(self.slack.opened) == opened:
            return press
        submission = self.submission(self.slack.opened[-1], reason, user=options.get("user", "U1"))
        await self.post(submission)
        return submission

    async def card(self, tenant_id: str = "acme-42", user: str = "U1") -> dict[str, Any]:
        """The tenant's card as `user` gets it from `/tenant <id>` (its buttons carry what it shows)."""
        name = f"zcmd{self.presses}{user}"  # no test names a response_url starting so
        self.presses += 1
        await self.post(self.command_body(tenant_id, user=user, response=name))
        [shown] = await self.slack.wait_for(f"/response/{name}")
        return shown

    def button(self, message: dict[str, Any], action_id: str) -> dict[str, Any]:
        """The button `action_id` of a card or an alert, with the block it sits in."""
        for block in message.get("blocks") or []:
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                if element.get("action_id") == action_id:
                    return {**element, "block_id": block["block_id"]}
        raise AssertionError(f"no {action_id} on that message")

    def press_on(self, message: dict[str, Any], action_id: str, **options: Any) -> str:
        """The press of a button as the message shows it (its value and block)."""
        shown = self.button(message, action_id)
        return self.press_body(action_id, shown["value"], shown["block_id"], **options)

    async def preview(self, body: str, count: int = 1) -> dict[str, Any]:
        """Post a press that opens a preview; the view Slack opened for it."""
        await self.post(body)
        views = await self.slack.wait_for("/api/views.open", count=count)
        assert len(views) >= count, "no preview was opened"
        return self.slack.opened[-1]

    def submission(self, view: dict[str, Any], reason: str | None, user: str = "U1") -> str:
        return submission_body(view, reason=reason, user=user)

    async def confirm(
        self, message: dict[str, Any], action_id: str, reason: str = "wedged since the failover", **options: Any
    ) -> tuple[int, str]:
        """Press `action_id` on `message`, then submit its preview with `reason`: the submission's answer."""
        user = options.get("user", "U1")
        view = await self.preview(self.press_on(message, action_id, **options), len(self.slack.opened) + 1)
        status, answer, _ = await self.exchange(self.submission(view, reason, user=user))
        return status, answer


def _answer(path: str) -> bool:
    """Whether a call to the stand-in answers a press (rather than Bolt's own auth.test, say)."""
    return path.startswith("/response/") or path == "/api/chat.postEphemeral"


async def _start_bot(
    tmp_path: Path,
    *,
    policy: Policy = DEFAULT_POLICY,
    store: TenantStore | None = None,
    read_timeout: float = 1.0,
    links: RunLinks | None = None,
    approval_clock: Callable[[], datetime] = now,
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
    metrics = Metrics()  # the app's own registry, shared by its client, its notifier and its listeners
    client = slack_client("xoxb-e2e", slack.api_url, metrics)
    alerts = database.alerts
    links = links or RunLinks()
    tenant_link = links.for_tenants(bounded_store)
    shown_run = shown_runs(bounded_store, now)
    notifier = SlackNotifier(
        client,
        "C9",
        min_interval=0,
        run_link=tenant_link,
        shown_run=shown_run,
        actions_channel=ACTIONS_CHANNEL,
        metrics=metrics,
    )
    announcer = Announcer(database.announcements, alerts, notifier, holder="e2e", clock=now)
    service = TenantService(
        bounded_store, bounded_engine, limits=limits, clock=now, switch=switch, after_action=announcer.nudge
    )
    finder = WedgeFinder(bounded_store, bounded_engine, limits)
    leases = database.leases
    scanner = Scanner(
        store,
        alerts,
        notifier,
        finder,
        leases=leases,
        holder="e2e",
        clock=now,
        freezes=database.freezes,
        ticks=database.home,
    )
    authorizer = Authorizer(policy, GroupDirectory(client))
    controls = AlertControls(store, alerts, scanner.delivery, authorizer, clock=now)
    history = AuditHistory(bounded_store)
    presses = Presses(service, authorizer)
    requests = BoundedApprovals(database.approvals, timeouts.read)
    approvals = Approvals(service, authorizer, requests, ttl=timedelta(minutes=30), clock=approval_clock)
    batches = BatchRunner(database.batches, service, leases, holder="e2e:batches", watch=metrics)
    offers = BatchOffers(alerts, finder, batches, authorizer, switch, leases, clock=now)
    deps = BotDeps(
        presses,
        RUNBOOK,
        now,
        finder,
        timeouts.read,
        history,
        links,
        tenant_link,
        approvals,
        alert_controls=controls,
        shown_run=shown_run,
        metrics=metrics,
        approval_channel="C9",  # the alert channel
        home=HomeReader(database.home, switch, finder, read_timeout=timeouts.read, clock=now),
        command_work=turns,
        batch_offers=offers,
        batch_runs=BatchRuns(
            client, batches, retries=offers.retries, every=0.2
        ),  # edits often enough for a test to see them
    )
    installation = InstallationCheck(client)
    assert await installation.learn() is None  # from the stand-in's auth.test and bots.info: T1, A1
    slack.calls.clear()  # tests look at what the bot sends while it serves
    app = create_app(signing_secret=SECRET, client=client, installation=installation, deps=deps)
    port = free_port()
    runner = await start_http(app, port, host="127.0.0.1")
    session = aiohttp.ClientSession()
    url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
    bot = Bot(url, slack, store, engine, service, scanner, session, deps, client, app, announcer, database, metrics)
    return bot, runner, database


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    policy: Policy = DEFAULT_POLICY,
    store: TenantStore | None = None,
    read_timeout: float = 1.0,
    links: RunLinks | None = None,
    approval_clock: Callable[[], datetime] = now,
) -> AsyncIterator[Bot]:
    """The bot on its real endpoint with its Slack stand-in, torn down afterwards; `approval_clock` is the
    clock of Decommission requests (a test moves it to expire one)."""
    started, runner, database = await _start_bot(
        tmp_path, policy=policy, store=store, read_timeout=read_timeout, links=links, approval_clock=approval_clock
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
    if bot.deps.batch_runs is not None:
        await bot.deps.batch_runs.close()
    await bot.announcer.close()
    await bot.session.close()
    await runner.cleanup()
    await bot.app.close()
    await bot.slack.stop()
    await database.close()
