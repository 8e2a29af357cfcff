"""The embedded engine's life cycle, an engine that goes away mid-incident, and the demo end to end."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import tenantbot.engine
from core.adapters.temporal_server import answers
from core.decisions import Situation
from core.domain import Action
from core.results import Outcome
from tenantbot.bootstrap import runtime
from tenantbot.demo import SCENARIOS
from tests.integration.temporal.conftest import free_port, provision, reach, world_settings
from tests.integration.temporal.processes import servers_using

pytestmark = pytest.mark.temporal


async def test_the_embedded_engine_starts_the_dev_server_and_stops_it_on_exit(tmp_path: Path) -> None:
    port = free_port()
    settings = world_settings(tmp_path, None, temporal_dev_port=port)
    async with runtime(settings, worker=True):
        assert await answers(f"127.0.0.1:{port}")
        assert len(servers_using(tmp_path / "temporal" / "temporal.db")) == 1
    assert not await answers(f"127.0.0.1:{port}")
    assert servers_using(tmp_path / "temporal" / "temporal.db") == []


async def test_a_second_process_reuses_the_running_dev_server(tmp_path: Path) -> None:
    port = free_port()
    settings = world_settings(tmp_path, None, temporal_dev_port=port)
    async with runtime(settings, worker=True) as first:
        await provision(first, "acme")
        async with runtime(settings, worker=False) as second:
            await reach(second, "acme", Situation.DONE)
        assert await answers(f"127.0.0.1:{port}")  # the reusing process left the server to its owner


async def test_an_engine_that_goes_away_gives_reset_failed_and_leaves_the_row_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenantbot.engine, "WATCH_EVERY_S", 3600)  # no restart of the killed server meanwhile
    settings = world_settings(tmp_path, None, temporal_dev_port=free_port(), read_timeout=timedelta(seconds=1))
    async with runtime(settings, worker=True) as rt:
        await provision(rt, "acme", "hang@2")
        await reach(rt, "acme", Situation.WEDGED_NO_PROGRESS)
        before = await rt.database.tenants.get("acme")
        os.kill(json.loads((tmp_path / "temporal" / "server.json").read_text())["pid"], signal.SIGKILL)
        while await answers(f"127.0.0.1:{settings.temporal_dev_port}", timeout=0.2):
            await asyncio.sleep(0.05)
        result = await rt.service.act(Action.RESET, "acme", "U1")
        assert result.outcome is Outcome.FAILED and "engine" in result.message
        after = await rt.database.tenants.get("acme")
        assert after is not None and before is not None
        assert (after.state, after.handle, after.error, after.claim) == (before.state, before.handle, None, None)
        assert (await rt.database.tenants.events("acme", 1))[0].type == "tenant.provisioning.reset_failed"


def test_the_demo_runs_everything_embedded_without_a_terminal_and_shows_a_recovery(tmp_path: Path) -> None:
    unreachable = {"TEMPORAL_ADDRESS": "127.0.0.1:9", "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/real"}
    env = {**os.environ, "DATA_DIR": str(tmp_path), "TEMPORAL_DEV_PORT": str(free_port()), **unreachable}
    done = subprocess.run(
        [sys.executable, "-m", "tenantbot", "demo"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for situation in Situation:
        if situation not in (
            Situation.ACTION_RUNNING,
            Situation.ENGINE_UNREACHABLE,
            Situation.WINDING_DOWN,
            Situation.HEARTBEAT_LATE,
        ):
            assert str(situation) in done.stdout, situation
    assert "reset demo-hang" in done.stdout and "After the new attempt" in done.stdout
    assert "has not reached" not in done.stdout
    assert "ignoring TEMPORAL_ADDRESS, DATABASE_URL, TEMPORAL_DEV_PORT" in done.stdout
    assert (tmp_path / "demo" / "tenantbot.db").exists() and (tmp_path / "demo" / "temporal" / "temporal.db").exists()
    assert "Tenant demo-progress-" in done.stdout
    assert "Traceback" not in done.stderr
    ui_port = json.loads((tmp_path / "demo" / "temporal" / "server.json").read_text())["ui_port"]
    links = re.findall(
        rf"^  (demo-[a-z]+)-\d+ +http://127\.0\.0\.1:{ui_port}/namespaces/default/workflows/provision-\1-",
        done.stdout,
        re.M,
    )
    assert len(links) == len(SCENARIOS) - 1  # each tenant but the pending one (no run yet) links to its run
