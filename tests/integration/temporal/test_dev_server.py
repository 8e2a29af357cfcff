"""The embedded dev server of one data directory: one server however many start it together, never
someone else's server, and started again by a long-running process when it dies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest

import tenantbot.engine
from core.adapters.dev_server_state import ServerState
from core.adapters.temporal_server import _Server, answers, dev_server, find_binary
from core.decisions import Situation
from core.ports import EngineError
from tenantbot.bootstrap import runtime
from tests.integration.temporal.conftest import provision, reach, world_settings
from tests.integration.temporal.processes import servers_using

pytestmark = pytest.mark.temporal


def recorded(data_dir: Path) -> dict[str, int]:
    return dict(json.loads((data_dir / "temporal" / "server.json").read_text()))


async def test_without_a_port_the_server_gets_a_free_one_recorded_for_the_next_process(tmp_path: Path) -> None:
    state = tmp_path / "temporal"
    async with dev_server(find_binary(), state_dir=state) as first:
        assert recorded(tmp_path)["port"] == int(first.rsplit(":", 1)[1])
        async with dev_server(find_binary(), state_dir=state) as second:
            assert second == first
        assert await answers(first)  # the reusing process left the server to its owner
    assert servers_using(state / "temporal.db") == []
    async with dev_server(find_binary(), state_dir=state) as again:
        assert again == first  # the recorded port, while it is free


async def test_two_starts_at_once_on_a_fresh_directory_share_one_server(tmp_path: Path) -> None:
    starts = [dev_server(find_binary(), state_dir=tmp_path / "temporal") for _ in range(2)]
    addresses = await asyncio.gather(*(start.__aenter__() for start in starts))
    try:
        assert addresses[0] == addresses[1]
        assert len(servers_using(tmp_path / "temporal" / "temporal.db")) == 1
    finally:
        for start in reversed(starts):
            await start.__aexit__(None, None, None)


async def test_a_server_someone_else_now_runs_on_the_recorded_port_is_not_adopted(tmp_path: Path) -> None:
    state = tmp_path / "temporal"
    async with dev_server(find_binary(), state_dir=state) as ours:
        pass
    port = int(ours.rsplit(":", 1)[1])
    async with dev_server(find_binary(), port=port, state_dir=tmp_path / "someone-else") as theirs:
        assert theirs == ours
        async with dev_server(find_binary(), state_dir=state) as address:
            assert address != theirs
            assert recorded(tmp_path)["port"] == int(address.rsplit(":", 1)[1])
            assert len(servers_using(state / "temporal.db")) == 1


async def test_a_worker_starts_its_dev_server_again_on_the_same_port_when_it_dies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenantbot.engine, "WATCH_EVERY_S", 0.3)
    async with runtime(world_settings(tmp_path, None), worker=True) as rt:
        before = recorded(tmp_path)
        os.kill(before["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while recorded(tmp_path)["pid"] == before["pid"] and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert recorded(tmp_path)["port"] == before["port"] and recorded(tmp_path)["pid"] != before["pid"]
        await provision(rt, "acme")
        await reach(rt, "acme", Situation.DONE)


async def test_a_worker_whose_dev_server_cannot_be_started_again_stops_with_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenantbot.engine, "WATCH_EVERY_S", 0.3)
    binary = tmp_path / "temporal-bin"
    binary.symlink_to(find_binary())
    with pytest.raises(EngineError, match="stopped and could not be restarted: could not run") as failure:
        async with runtime(world_settings(tmp_path, None, temporal_bin=binary), worker=True):
            await asyncio.sleep(1)  # a worker that has started polling (one still starting takes long to stop)
            binary.unlink()
            os.kill(recorded(tmp_path)["pid"], signal.SIGKILL)
            await asyncio.sleep(60)
    assert str(binary) in str(failure.value)
    assert servers_using(tmp_path / "temporal" / "temporal.db") == []


async def test_an_owner_whose_server_another_process_restarted_first_uses_that_one(tmp_path: Path) -> None:
    state = ServerState(tmp_path / "temporal")
    owner, reuser = _Server(find_binary(), state, "default"), _Server(find_binary(), state, "default")
    await owner.acquire(None)
    address = await reuser.acquire(None)
    assert owner.process is not None
    owner.process.kill()  # the server dies; the reusing process notices first and starts it again
    await owner.process.wait()
    owner_host, reuser_host = (asyncio.create_task(asyncio.sleep(3600)) for _ in range(2))
    watchers = [asyncio.create_task(reuser.watch(0.1, reuser_host))]
    try:
        while reuser.process is None:
            await asyncio.sleep(0.1)
        watchers.append(asyncio.create_task(owner.watch(0.1, owner_host)))
        await asyncio.sleep(1.5)
        assert owner.lost is None and not owner_host.cancelled()
        assert owner.address == address and await answers(address)
    finally:
        for task in (*watchers, owner_host, reuser_host):
            task.cancel()
        await reuser.release()
        await owner.release()
    assert servers_using(state.db) == []
