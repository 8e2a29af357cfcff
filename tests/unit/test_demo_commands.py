"""The demo's console (`tenantbot demo`) asks before it acts as the CLI and Slack do: a destructive action is
confirmed, then needs a reason, which is recorded; no reason, nothing runs. Lines come through a real pipe,
as from a terminal."""

from __future__ import annotations

import os

import pytest

from core.decisions import Situation
from core.run_links import RunLinks
from core.service import TenantService
from tenantbot.demo import command
from tenantbot.prompt import Prompt
from tests.e2e.situations import make
from tests.fakes import FakeEngine, InMemoryStore


async def typed(service: TenantService, line: str, *answers: str) -> None:
    read, write = os.pipe()
    os.write(write, "".join(f"{a}\n" for a in answers).encode())
    os.close(write)  # then end of input
    try:
        async with Prompt(read) as prompt:
            await command(service, prompt, line.split(), RunLinks())
    finally:
        os.close(read)


@pytest.fixture
async def service() -> TenantService:
    store, engine = InMemoryStore(), FakeEngine()
    await make(store, engine, "acme-1", Situation.WEDGED_ORPHANED)
    return TenantService(store, engine)


async def test_a_reset_confirmed_with_a_reason_runs_and_records_the_reason(
    service: TenantService, capsys: pytest.CaptureFixture[str]
) -> None:
    await typed(service, "reset acme-1", "y", "  cluster   failover ")
    events = await service.store.events("acme-1", 10)
    started = [e for e in events if e.type.endswith("reset_started")]
    assert len(started) == 1 and started[0].details["reason"] == "cluster failover"
    assert "Reason (audit feed and Temporal" in capsys.readouterr().out


@pytest.mark.parametrize("answers", [("y", ""), ("y",), ("n",)], ids=["empty reason", "end of input", "not confirmed"])
async def test_a_reset_without_a_reason_or_confirmation_runs_nothing(
    service: TenantService, answers: tuple[str, ...]
) -> None:
    await typed(service, "reset acme-1", *answers)
    assert not [e for e in await service.store.events("acme-1", 10) if e.type.endswith("reset_started")]


async def test_a_reason_with_a_control_character_is_asked_again(
    service: TenantService, capsys: pytest.CaptureFixture[str]
) -> None:
    await typed(service, "reset acme-1", "y", "bad\x07bell", "wedged since 03:10")
    assert "control character" in capsys.readouterr().out
    started = [e for e in await service.store.events("acme-1", 10) if e.type.endswith("reset_started")]
    assert [e.details["reason"] for e in started] == ["wedged since 03:10"]
