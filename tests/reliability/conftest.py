"""The reliability suite's worlds: the product driven from outside, as operators and Slack drive it.

A world is a real `tenantbot serve` process (its log in its own directory), the Slack stand-in as a
server (tests/e2e/slack_stub.py), a real database (SQLite, or a fresh PostgreSQL schema, optionally
behind a proxy that can go silent or refuse connections) and the real Temporal dev server. Requests
are signed HTTP posts; tenants are provisioned with the `tenantbot` command and read with `/tenant`;
the audit feed and the rows are read with SQL. The tests reach into no module of core/ or bot/, whose
insides are free to move.

Each module builds one world (module-scoped: starting `serve` costs seconds of CPU) and the package
shares one dev server, except where a module kills its own. The stand-in and the proxy run on an
event loop of their own in a thread (`Background`), so they keep answering while the test's loop is
busy or between tests, as the real Slack and PostgreSQL would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from bench.procs import Child
from tests.conftest import _fresh_schema, require_postgres
from tests.e2e.serving import command_body, press_body, serve_env, signed_post, submission_body
from tests.e2e.slack_stub import Call, SlackStub, free_port
from tests.integration.temporal.processes import DevServer, own_dev_server
from tests.silent_proxy import SilentProxy

T = TypeVar("T")
ACK_BUDGET = 3.0  # seconds: Slack's, and the product's promise for every request
TRACEBACK_EXPECTED = "Completing activity as failed"  # the SDK's report of an injected fault, a line before


class Background:
    """A thread running an event loop of its own, for the servers the product talks to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="reliability-servers", daemon=True)
        self.thread.start()

    async def run(self, call: Coroutine[Any, Any, T]) -> T:
        """Run `call` on the background loop and wait for it from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call, self.loop))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass(frozen=True)
class Sent:
    """A request as Slack sent it: the HTTP status of the ack, how long the ack took, the name of the
    response_url its answer goes to, and when it was sent (time.monotonic(), the stand-in's clock too)."""

    status: int
    ack: float
    name: str
    at: float


@dataclass(frozen=True)
class Event:
    kind: str  # without the `tenant.provisioning.` prefix
    actor: str
    details: dict[str, Any]


class Database:
    """The world's database as the test reads it: directly (never through the proxy), with plain SQL."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        driver = "postgresql+psycopg" if parsed.get_backend_name() == "postgresql" else "sqlite"
        self.engine = sqlalchemy.create_engine(parsed.set(drivername=driver), poolclass=sqlalchemy.NullPool)

    def events(self, tenant_id: str) -> list[Event]:
        """The tenant's audit feed, oldest first."""
        query = "SELECT type, actor, details FROM audit_events WHERE tenant_id = :t ORDER BY id"
        with self.engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text(query), {"t": tenant_id}).all()
        return [
            Event(kind.removeprefix("tenant.provisioning."), actor, _json(details)) for kind, actor, details in rows
        ]

    def kinds(self, tenant_id: str, prefix: str = "") -> list[str]:
        return [e.kind for e in self.events(tenant_id) if e.kind.startswith(prefix)]

    def tenant(self, tenant_id: str) -> dict[str, Any]:
        with self.engine.connect() as connection:
            row = connection.execute(sqlalchemy.text("SELECT * FROM tenants WHERE id = :t"), {"t": tenant_id}).first()
        assert row is not None, f"no tenant {tenant_id}"
        return dict(row._mapping)

    def snapshot(self) -> tuple[list[tuple[Any, ...]], Counter[str]]:
        """Every tenant row, and the audit events by kind: what bad input must leave as it was."""
        with self.engine.connect() as connection:
            tenants = [tuple(r) for r in connection.execute(sqlalchemy.text("SELECT * FROM tenants ORDER BY id"))]
            kinds = connection.execute(sqlalchemy.text("SELECT type FROM audit_events")).scalars()
            return tenants, Counter(k.removeprefix("tenant.provisioning.") for k in kinds)


def _json(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value or {})


async def eventually(check: Callable[[], T], within: float, what: str) -> T:
    """Poll `check` until it returns something true, and return that; fail naming `what` after `within` s."""
    deadline = time.monotonic() + within
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within:g} s: {what}")
        await asyncio.sleep(0.05)
    return found


def said(message: dict[str, Any]) -> str:
    """Everything a message shows: its text and its blocks, as sent."""
    return f"{message.get('text', '')}\n{json.dumps(message.get('blocks') or [], ensure_ascii=False)}"


class World:
    """One `serve` and what it talks to, and the ways a test reaches them. (Not a dataclass: hypothesis
    prints a dataclass argument field by field, stand-in records and all, with every example it reports.)"""

    def __init__(
        self,
        directory: Path,
        env: dict[str, str],
        cli_database: str,
        slack: SlackStub,
        session: aiohttp.ClientSession,
        background: Background,
        proxy: SilentProxy | None,
    ) -> None:
        self.directory, self.env, self.slack, self.session = directory, env, slack, session
        self.cli_database = cli_database  # as the CLI and the test reach it: never through the proxy
        self.db, self.background, self.proxy = Database(cli_database), background, proxy
        self.serve: Child | None = None
        self._names = itertools.count()

    def __repr__(self) -> str:
        return f"World({self.directory.name}, serve on {self.url})"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['PORT']}/slack/events"

    def name(self, prefix: str = "r") -> str:
        """A response_url name used once, so each answer is matched to its request."""
        return f"{prefix}-{next(self._names)}"

    async def start_serve(self, *, drop: tuple[str, ...] = (), **extra: str) -> Child:
        """A `serve` on this world (another replica, given its own PORT), without the variables in `drop`."""
        env = {k: v for k, v in {**self.env, **extra}.items() if k not in drop}
        command = [sys.executable, "-m", "tenantbot", "serve"]
        serve = await Child.start(f"serve-{uuid.uuid4().hex[:6]}", command, env=env, workdir=self.directory)
        await serve.until_answering(f"http://127.0.0.1:{env['PORT']}/healthz", within=60)
        return serve

    async def post(self, body: str, *, name: str, url: str | None = None, **signing: Any) -> Sent:
        started = time.monotonic()
        status = await signed_post(self.session, url or self.url, body, **signing)
        return Sent(status, time.monotonic() - started, name, started)

    async def command(self, text: str, *, user: str = "U1", url: str | None = None) -> Sent:
        name = self.name("cmd")
        return await self.post(command_body(text, self.slack.response_url(name), user=user), name=name, url=url)

    async def press(
        self,
        action: str,
        tenant_id: str,
        *,
        user: str = "U1",
        url: str | None = None,
        name: str | None = None,
        button: dict[str, Any] | None = None,
        reason: str = "seen wedged by the reliability suite",
        **signing: Any,
    ) -> Sent:
        """Press `action` on `tenant_id`'s card as `user` and, when it opens its preview (Reset, Cancel,
        Decommission), submit it with `reason`, as the presser would; `button` replaces fields of the
        button. The press's name is the answer's response_url, whichever way it is answered."""
        name = name or self.name("press")
        pressed = {
            "action_id": f"tenant_{action}",
            "block_id": f"tenant_actions:{tenant_id}",
            "value": self.shown(tenant_id),
            "action_ts": f"{time.time():.6f}{name}",
            **(button or {}),
        }
        body = press_body(pressed, self.slack.response_url(name), user=user)
        before = len(self.slack.calls)
        sent = await self.post(body, name=name, url=url, **signing)
        view = await self.preview_or_answer(name, before) if sent.status == 200 else None
        if view is None:
            return sent
        submitted = await self.post(submission_body(view, reason=reason, user=user), name=name, url=url, **signing)
        return Sent(max(sent.status, submitted.status), max(sent.ack, submitted.ack), name, sent.at)

    def shown(self, tenant_id: str) -> str:
        """The value a fresh card of `tenant_id` gives its buttons (bot/seen_values.py), from its row as the
        database has it now (the situation is not read: it only changes what an answer says)."""
        try:
            row = self.db.tenant(tenant_id)
        except AssertionError:
            return f"{tenant_id}|0|-|-|pending_clean|{int(time.time())}"  # no such tenant: a well-formed value
        run = "|".join(str(row[k] or "-") for k in ("workflow_id", "run_id"))
        return f"{tenant_id}|{row['attempt']}|{run}|wedged_no_progress|{int(time.time())}"

    async def preview_or_answer(self, name: str, before: int, within: float = 10.0) -> dict[str, Any] | None:
        """The preview the press named `name` opened, or None once it was answered another way (or not at all)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for view in self.slack.opened:
                if json.loads(view.get("private_metadata") or "{}").get("response_url", "").endswith(f"/{name}"):
                    return view
            if self.messages(name) or any(c.path == "/api/chat.postEphemeral" for c in self.slack.calls[before:]):
                return None
            await asyncio.sleep(0.02)
        return None

    def messages(self, name: str) -> list[Call]:
        """What reached the response_url `name`, accepted or not."""
        return [c for c in self.slack.calls if c.path == f"/response/{name}"]

    async def answer(self, sent: Sent | str, within: float = 10.0) -> dict[str, Any]:
        """The first answer through the request's response_url."""
        name = sent if isinstance(sent, str) else sent.name
        deadline = time.monotonic() + within
        while not (arrived := self.messages(name)):
            if time.monotonic() > deadline:
                pytest.fail(f"no answer to {name} within {within:g} s")
            await asyncio.sleep(0.02)
        return arrived[0].body

    def answered_in(self, sent: Sent) -> float:
        """Seconds from sending the request to its first answer."""
        return self.messages(sent.name)[0].at - sent.at

    async def card(self, tenant_id: str, within: float = 10.0) -> str:
        sent = await self.command(tenant_id)
        assert sent.status == 200
        return said(await self.answer(sent, within))

    async def until_card_says(self, tenant_id: str, words: str, within: float = 30.0) -> str:
        """Ask `/tenant <id>` until its card says `words`."""
        deadline = time.monotonic() + within
        while words not in (shown := await self.card(tenant_id)):
            if time.monotonic() > deadline:
                pytest.fail(f"{tenant_id}'s card does not say {words!r} within {within:g} s: {shown[:600]}")
            await asyncio.sleep(0.3)
        return shown

    async def tenantbot(self, *args: str) -> tuple[int, str, str]:
        """Run the `tenantbot` command on this world (exit code, stdout, stderr)."""
        env = {**self.env, "DATABASE_URL": self.cli_database}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tenantbot",
            *args,
            env=env,
            cwd=self.directory,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 90)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def provision(self, fault: str, *tenant_ids: str) -> None:
        """`tenantbot provision <id> --fault <fault>` for each, side by side. Workflow ids are named after
        tenant ids, and the package's worlds share one engine: each module needs tenant ids of its own."""
        done = await asyncio.gather(*(self.tenantbot("provision", t, "--fault", fault) for t in tenant_ids))
        for tenant_id, (code, _, err) in zip(tenant_ids, done, strict=True):
            assert code == 0, f"provision {tenant_id}: {err}"

    async def wedged(self, *tenant_ids: str) -> None:
        """Tenants whose attempt 1 hangs at step 2, once their cards say they are wedged."""
        await self.provision("hang@2", *tenant_ids)
        await asyncio.gather(*(self.until_card_says(t, "wedged: no progress") for t in tenant_ids))


def unexpected_tracebacks(log: str) -> list[str]:
    """Tracebacks in a `serve` log other than the SDK's reports of an injected fault."""
    lines = log.splitlines()
    return [
        lines[i + 1]
        for i, line in enumerate(lines[:-1])
        if line.startswith("Traceback") and TRACEBACK_EXPECTED not in lines[i - 1]
    ]


@pytest.fixture(scope="package")
def background() -> Iterator[Background]:
    servers = Background()
    yield servers
    servers.close()


@pytest.fixture(scope="package")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    """The Temporal dev server the package's worlds share (each on its own task queue)."""
    async with own_dev_server(tmp_path_factory.mktemp("engine")) as server:
        yield server


@asynccontextmanager
async def world(
    directory: Path,
    background: Background,
    engine: DevServer,
    *,
    postgres: bool = False,
    proxied: bool = False,
    **settings: str,
) -> AsyncIterator[World]:
    """A world with `serve` running on it; `settings` go into the environment (e.g. READ_TIMEOUT="1s")."""
    schemas = _fresh_schema(require_postgres()) if postgres else None
    direct = next(schemas) if schemas is not None else f"sqlite:///{directory / 'tenantbot.db'}"
    slack = SlackStub()
    await background.run(slack.start())
    proxy = None
    served = direct
    if proxied:
        parsed = make_url(direct)
        proxy = await background.run(SilentProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start())
        served = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    env = serve_env(directory, slack, free_port(), TEMPORAL_ADDRESS=engine.address, DATABASE_URL=served)
    env |= {"TEMPORAL_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:8]}", "SCAN_INTERVAL": "10s", "LOG_LEVEL": "INFO"}
    env.pop("ALERT_CHANNEL")
    env |= settings
    session = aiohttp.ClientSession()
    built = World(directory, env, direct, slack, session, background, proxy)
    try:
        built.serve = await built.start_serve()
        yield built
        await ended_cleanly(built.serve)
    finally:
        if built.serve is not None:
            await built.serve.stop()
        await session.close()
        if proxy is not None:
            await background.run(proxy.stop())
        await background.run(slack.stop())
        built.db.engine.dispose()
        if schemas is not None:
            next(schemas, None)


async def ended_cleanly(serve: Child) -> None:
    """`serve` stops on SIGTERM with exit 0, and its log holds no traceback it should not."""
    assert await serve.stop(within=30) == 0, serve.tail(30)
    log = serve.log.read_text(errors="replace")
    assert unexpected_tracebacks(log) == [], log[-4000:]
