"""What a deployment probes and scrapes: `GET /healthz`, `GET /readyz` and `GET /metrics`.

`/healthz` is liveness: the handler runs on the one event loop the app serves, the scan and the
engine client share, so an answer means the process and its loop answer (a loop blocked by a stuck
call would not). It checks nothing else on purpose: a database outage must not get the process
restarted. `/readyz` is readiness: each dependency named to it (the database, the engine, Slack's
`auth.test`) is checked within a short timeout, and the answer is JSON naming each one ("ok" or why
not) with 503 when any is down, so "no alerts" can be told from "the bot cannot see".

A probe storm costs nothing: a report is kept for `cache_for` seconds, and while one check runs every
other probe waits for that one instead of starting its own. A check that does not answer within the
timeout is reported down at once and left to finish in the background (a silent database can hold a
connection attempt for seconds); until it has, that dependency is not asked again, so checks never
pile up. The checks are plain callables handed in by the composition root: this module knows no
database or engine.

Over HTTP these routes sit beside `POST /slack/events` (bot/http.py); in Socket Mode, where Slack's
requests arrive over the websocket, `start_probe_server` serves them alone on PORT.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from bot.metrics import CONTENT_TYPE, Metrics

Check = Callable[[], Awaitable[object]]
CHECK_TIMEOUT = 2.0  # seconds each dependency gets to answer
CACHE_FOR = 5.0  # seconds a readiness report is served again without checking
OK = "ok"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    checks: dict[str, str]  # dependency -> "ok" or why it is not

    @property
    def ready(self) -> bool:
        return all(answer == OK for answer in self.checks.values())

    def as_json(self) -> dict[str, object]:
        return {"status": "ready" if self.ready else "not ready", "checks": self.checks}


class Readiness:
    def __init__(
        self,
        checks: Mapping[str, Check],
        *,
        timeout: float = CHECK_TIMEOUT,
        cache_for: float = CACHE_FOR,
        clock: Callable[[], float] = time.monotonic,
        describe: Callable[[BaseException], str] = str,
    ) -> None:
        self.checks, self.timeout, self.cache_for, self.clock = dict(checks), timeout, cache_for, clock
        self.describe = describe  # an error as one line for the answer (the composition root's redaction)
        self.runs = 0  # how many times the dependencies were checked (not served from the cache)
        self._report: Report | None = None
        self._at = -float("inf")
        self._lock = asyncio.Lock()
        self._pending: dict[str, asyncio.Task[object]] = {}  # checks that timed out and have not ended yet

    async def report(self) -> Report:
        """The cached report while fresh; else one check of every dependency at once (one run at a time)."""
        async with self._lock:
            if self._report is None or self.clock() - self._at >= self.cache_for:
                self.runs += 1
                names = list(self.checks)
                answers = await asyncio.gather(*(self._check(name) for name in names))
                self._report, self._at = Report(dict(zip(names, answers, strict=True))), self.clock()
            return self._report

    async def _check(self, name: str) -> str:
        previous = self._pending.get(name)
        if previous is not None and not previous.done():
            return f"no answer within {self.timeout:g} s (the last check has not ended)"
        task = asyncio.ensure_future(self.checks[name]())
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if not done:
            self._pending[name] = task
            task.add_done_callback(_consume)
            return f"no answer within {self.timeout:g} s"
        self._pending.pop(name, None)
        error = task.exception()
        if error is None:
            return OK
        log.info("readiness: %s is down: %s", name, self.describe(error))
        return self.describe(error) or type(error).__name__


def _consume(task: asyncio.Task[object]) -> None:
    """A check that ended after its probe gave up: its outcome is not wanted, its error not an error."""
    if not task.cancelled():
        task.exception()


def probe_routes(readiness: Readiness, metrics: Metrics) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        report = await readiness.report()
        return web.json_response(report.as_json(), status=200 if report.ready else 503)

    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", scrape)]


async def start_probe_server(routes: list[web.RouteDef], port: int, host: str = "0.0.0.0") -> web.AppRunner:
    """Socket Mode: the probes and metrics alone on `port`; the caller awaits `runner.cleanup()` to stop."""
    application = web.Application()
    application.add_routes(routes)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
