"""Readiness (bot/probes.py): each dependency named, a report kept a few seconds, one check at a time, a
check that hangs reported down at its timeout and not piled up."""

from __future__ import annotations

import asyncio

from bot.probes import Readiness


class Dependency:
    """A check that counts its calls, and answers, fails or hangs as told."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: Exception | None = None
        self.hang: asyncio.Event | None = None

    async def __call__(self) -> None:
        self.calls += 1
        if self.hang is not None:
            await self.hang.wait()
        await asyncio.sleep(0.01)
        if self.error is not None:
            raise self.error


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_every_dependency_is_named_and_one_that_is_down_makes_it_not_ready() -> None:
    database, engine, slack = Dependency(), Dependency(), Dependency()
    readiness = Readiness({"database": database, "engine": engine, "slack": slack}, cache_for=0)
    assert (await readiness.report()).as_json() == {
        "status": "ready",
        "checks": {"database": "ok", "engine": "ok", "slack": "ok"},
    }
    engine.error = RuntimeError("connection refused")
    report = await readiness.report()
    assert not report.ready
    assert report.checks == {"database": "ok", "engine": "connection refused", "slack": "ok"}


async def test_a_storm_of_probes_checks_each_dependency_once_until_the_report_is_stale() -> None:
    database, clock = Dependency(), Clock()
    readiness = Readiness({"database": database}, cache_for=5, clock=clock)
    reports = await asyncio.gather(*(readiness.report() for _ in range(200)))
    assert all(r.ready for r in reports)
    assert database.calls == 1 and readiness.runs == 1
    clock.now = 4.9
    await readiness.report()
    assert database.calls == 1
    clock.now = 5.0
    await readiness.report()
    assert database.calls == 2


async def test_a_check_that_hangs_is_down_at_its_timeout_and_is_not_started_again_while_it_hangs() -> None:
    database, engine = Dependency(), Dependency()
    database.hang = asyncio.Event()
    readiness = Readiness({"database": database, "engine": engine}, timeout=0.2, cache_for=0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    report = await readiness.report()
    assert loop.time() - started < 0.5
    assert report.checks == {"database": "no answer within 0.2 s", "engine": "ok"}
    again = await readiness.report()
    assert again.checks["database"] == "no answer within 0.2 s (the last check has not ended)"
    assert database.calls == 1  # still the first one
    database.hang.set()
    await asyncio.sleep(0.05)
    assert (await readiness.report()).ready and database.calls == 2


async def test_a_reason_is_described_by_the_function_given_so_the_composition_root_can_redact_it() -> None:
    database = Dependency()
    database.error = RuntimeError("could not connect to postgresql://u:hunter22@db/x")
    readiness = Readiness({"database": database}, describe=lambda e: str(e).replace("hunter22", "***"))
    assert (await readiness.report()).checks["database"] == "could not connect to postgresql://u:***@db/x"
