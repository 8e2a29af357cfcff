"""The composition root (tenantbot/bootstrap.py) hands every reader the ports wrapped with READ_TIMEOUT (a
tenant's history and the run-link look-up an alert uses answer within it when the database hangs), and
builds the daily retention run under the scan's lease with a holder of its own."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from core.alerting.scanner import SCAN_LOCK
from core.authz import NoDirectory
from core.domain import Tenant, TenantState
from core.persistence import Database
from core.ports import StoreError
from core.run_links import RunLinks
from core.saga import FaultPlan
from tenantbot.bootstrap import assemble, unlinked
from tenantbot.console_notifier import ConsoleNotifier
from tenantbot.settings import Settings
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
