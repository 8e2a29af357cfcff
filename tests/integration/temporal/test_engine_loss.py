"""The engine dies in the middle of a Reset: after the claim (reset_started is written) and before the
terminate. The action answers with the cause, emits reset_failed and leaves the row as it was."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.decisions import Situation
from core.domain import Action, RunHandle
from core.results import Outcome
from tenantbot.bootstrap import runtime
from tests.integration.temporal.conftest import provision, reach, world_settings
from tests.integration.temporal.processes import own_dev_server

pytestmark = pytest.mark.temporal


class DiesBeforeTerminating:
    """The engine port, except that the engine process is killed the moment Reset asks to terminate."""

    def __init__(self, engine: Any, process: asyncio.subprocess.Process) -> None:
        self.engine, self.process = engine, process

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    async def terminate(self, handle: RunHandle, reason: str) -> None:
        self.process.kill()
        await self.process.wait()
        await self.engine.terminate(handle, reason)


async def test_an_engine_that_dies_during_a_reset_gives_reset_failed_and_leaves_the_row_as_it_was(
    tmp_path: Path,
) -> None:
    async with own_dev_server(tmp_path / "temporal") as server:
        assert server.process is not None
        settings = world_settings(
            tmp_path, server.address, read_timeout=timedelta(seconds=1), engine_timeout=timedelta(seconds=2)
        )
        async with runtime(settings, worker=True) as rt:
            await provision(rt, "acme", "hang@2")
            await reach(rt, "acme", Situation.WEDGED_NO_PROGRESS)
            before = await rt.database.tenants.get("acme")
            rt.service.engine = DiesBeforeTerminating(rt.service.engine, server.process)

            result = await rt.service.act(Action.RESET, "acme", "U1")

            assert result.outcome is Outcome.FAILED and "engine" in result.message
            after = await rt.database.tenants.get("acme")
            assert after is not None and before is not None
            assert (after.state, after.handle, after.error, after.claim) == (before.state, before.handle, None, None)
            feed = [e.type.removeprefix("tenant.provisioning.") for e in await rt.database.tenants.events("acme", 2)]
            assert feed == ["reset_failed", "reset_started"]
