"""Engine and database errors counted where they leave their ports (tenantbot/observed.py), by the port's
method; the answers that are the core's business (a concurrent update, a run still live) are not errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.metrics import Metrics
from core.domain import Tenant, TenantState, provisioning_handle
from core.ports import EngineError, RunAlreadyLive, StoreError, TenantStore, WorkflowEngine
from tenantbot.observed import counted_engine, counted_store
from tests.fakes import FakeEngine, InMemoryStore


def errors(metrics: Metrics, name: str, operation: str) -> float:
    value = metrics.registry.get_sample_value(name, {"operation": operation})
    return value or 0.0


async def test_a_database_error_is_counted_by_method_and_passed_on_unchanged() -> None:
    metrics, store = Metrics(), InMemoryStore()
    counted: TenantStore = counted_store(store, metrics.database_errors)
    assert await counted.get("acme-42") is None
    store.down = True
    with pytest.raises(StoreError, match="database unavailable"):
        await counted.get("acme-42")
    with pytest.raises(StoreError):
        await counted.events("acme-42", 5)
    assert errors(metrics, "tenantbot_database_errors_total", "get") == 1
    assert errors(metrics, "tenantbot_database_errors_total", "events") == 1


async def test_an_engine_error_is_counted_but_a_run_still_live_is_an_answer_not_an_error() -> None:
    metrics, engine = Metrics(), FakeEngine()
    counted: WorkflowEngine = counted_engine(engine, metrics.engine_errors)
    handle = provisioning_handle("acme-42", 1)
    engine.fail_with = EngineError("describe: connection refused")
    with pytest.raises(EngineError):
        await counted.describe(handle)
    engine.fail_with = RunAlreadyLive("attempt 1 is still running; Reset first")
    with pytest.raises(RunAlreadyLive):
        await counted.start("acme-42", handle)
    assert errors(metrics, "tenantbot_engine_errors_total", "describe") == 1
    assert errors(metrics, "tenantbot_engine_errors_total", "start") == 0


async def test_the_proxy_is_the_port_for_everything_else() -> None:
    store = InMemoryStore()
    counted: TenantStore = counted_store(store, Metrics().database_errors)
    now = datetime.now(UTC)
    await counted.add(Tenant(id="acme-42", state=TenantState.PENDING, created_at=now, last_progress_at=now), [])
    assert (await store.get("acme-42")) is not None
    assert counted.down is False  # type: ignore[attr-defined]  # attributes pass through


def test_a_ports_method_is_wrapped_once_not_on_every_call() -> None:
    counted: TenantStore = counted_store(InMemoryStore(), Metrics().database_errors)
    assert counted.get is counted.get  # the hot path does not build a wrapper per call
