"""The composition root (tenantbot/bootstrap.py) hands every reader the ports wrapped with READ_TIMEOUT (a
tenant's history, the run-link look-up an alert uses and each call of the wedge finder answer within it
when the database or the engine hangs), and builds the daily retention run under the scan's lease with a
holder of its own."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from core.alerting.scanner import SCAN_LOCK
from core.authz import NoDirectory
from core.domain import RunObservation, RunStatus, Tenant, TenantState, provisioning_handle
from core.persistence import Database
from core.ports import EngineError, StoreError
from core.run_links import RunLinks
from core.saga import FaultPlan
from tenantbot.bootstrap import assemble, unlinked
from tenantbot.console_notifier import ConsoleNotifier
from tenantbot.settings import Settings
from tests.alert_fakes import RecordingNotifier
from tests.fakes import FakeEngine


async def never(*args: object, **kwargs: object) -> None:
    await asyncio.Event().wait()


async def test_history_and_the_run_link_look_up_answer_within_read_timeout_when_the_database_hangs(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = assemble(
        Settings(read_timeout=timedelta(seconds=0.2)),
        database,
        FakeEngine(),
        FaultPlan(),
        RunLinks("http://127.0.0.1:8233"),
        None,
        NoDirectory(),
    )
    await database.tenants.add(Tenant("acme", TenantState.PROVISIONING, datetime.now(UTC)), [])
    monkeypatch.setattr(database.tenants, "history", never)
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"^audit events: no answer within 0\.2 s$"):
        await asyncio.wait_for(rt.history.page("acme"), 2)
    monkeypatch.setattr(database.tenants, "get", never)
    with pytest.raises(StoreError, match=r"^database: no answer within 0\.2 s$"):
        await asyncio.wait_for(rt.history.page("acme"), 2)
    assert await asyncio.wait_for(rt.tenant_link("acme"), 2) is None  # a link is never worth failing a message
    assert time.monotonic() - started < 1.5


async def test_each_call_of_the_wedge_finder_that_hangs_says_which_part_did_not_answer_within_read_timeout(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine()
    settings = Settings(read_timeout=timedelta(seconds=0.2))
    rt = assemble(settings, database, engine, FaultPlan(), RunLinks(), None, NoDirectory())
    an_hour_ago, handle = datetime.now(UTC) - timedelta(hours=1), provisioning_handle("acme", 1)
    stuck = Tenant(
        "acme", TenantState.PROVISIONING, an_hour_ago, handle=handle, attempt=1, last_progress_at=an_hour_ago
    )
    await database.tenants.add(stuck, [])  # a suspect: asked about and read in full every sweep
    engine.set(handle, RunObservation(RunStatus.RUNNING))
    hangs = [
        (engine, "count_running", EngineError, "engine"),  # the first sweep reconciles: nothing closed asked yet
        (engine, "closed_since", EngineError, "engine"),
        (database.tenants, "in_flight_refs", StoreError, "database"),
        (database.tenants, "in_flight", StoreError, "database"),
    ]
    for port, call, error, part in hangs:
        with monkeypatch.context() as hung:
            hung.setattr(port, call, never)
            started = time.monotonic()
            with pytest.raises(error, match=rf"^{part}: no answer within 0\.2 s$"):
                await asyncio.wait_for(rt.finder.sweep(datetime.now(UTC)), 2)
            assert time.monotonic() - started < 1, call
        assert list((await rt.finder.sweep(datetime.now(UTC))).wedged) == ["acme"]


async def test_the_daily_retention_run_holds_the_scans_lease_under_a_holder_of_its_own(database: Database) -> None:
    rt = assemble(
        Settings(), database, FakeEngine(), FaultPlan(), RunLinks(), unlinked(ConsoleNotifier()), NoDirectory()
    )
    assert rt.scanner is not None and rt.retention.holder == f"{rt.scanner.holder}:retention"
    now = datetime.now(UTC)
    assert await database.leases.try_lock(SCAN_LOCK, rt.retention.holder, now=now, ttl=timedelta(minutes=1))
    assert not (await rt.scanner.tick()).ran  # this process's scan waits for its own prune
    await database.leases.unlock(SCAN_LOCK, rt.retention.holder)
    assert (await rt.scanner.tick()).ran


async def test_the_scan_nudges_resetters_after_reset_nudge_after_unless_it_is_a_dry_run(database: Database) -> None:
    settings = Settings(reset_nudge_after=timedelta(minutes=5))
    slack = assemble(
        settings, database, FakeEngine(), FaultPlan(), RunLinks(), unlinked(RecordingNotifier()), NoDirectory()
    )
    assert slack.scanner is not None and slack.scanner.nudges is not None
    assert slack.scanner.nudges.after == timedelta(minutes=5)
    dry = assemble(
        settings, database, FakeEngine(), FaultPlan(), RunLinks(), unlinked(ConsoleNotifier()), NoDirectory()
    )
    assert dry.scanner is not None and dry.scanner.nudges is None
