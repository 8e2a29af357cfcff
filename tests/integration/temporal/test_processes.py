"""The embedded dev server's life cycle across real `tenantbot` processes: started once when several
start together, gone when its owner is stopped or killed, restarted when the owner goes away under
processes that reused it."""

from __future__ import annotations

import json
import os
import pty
import signal
from pathlib import Path

import pytest

from tests.integration.temporal.conftest import free_port
from tests.integration.temporal.processes import (
    cli_env,
    parent_of,
    servers_using,
    start,
    stop,
    wait_for_output,
    wait_until,
)

pytestmark = pytest.mark.temporal
RUNNING = "worker running"


@pytest.mark.parametrize("explicit_port", [True, False], ids=["TEMPORAL_DEV_PORT set", "port picked"])
def test_two_workers_started_together_on_a_fresh_data_dir_both_run_on_one_server(
    tmp_path: Path, explicit_port: bool
) -> None:
    env = cli_env(tmp_path, **({"TEMPORAL_DEV_PORT": str(free_port())} if explicit_port else {}))
    workers = [start("worker", env=env), start("worker", env=env)]
    try:
        for worker in workers:
            wait_for_output(worker, RUNNING)
        db = tmp_path / "temporal" / "temporal.db"
        assert len(servers_using(db)) == 1
        assert [w.poll() for w in workers] == [None, None]
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        assert [w.wait(30) for w in workers] == [0, 0]
        assert servers_using(db) == []
    finally:
        for worker in workers:
            stop(worker)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_worker_stopped_by_a_signal_leaves_no_dev_server_behind(tmp_path: Path, sig: signal.Signals) -> None:
    worker = start("worker", env=cli_env(tmp_path, TEMPORAL_DEV_PORT=str(free_port())))
    try:
        wait_for_output(worker, RUNNING)
        db = tmp_path / "temporal" / "temporal.db"
        assert len(servers_using(db)) == 1
        worker.send_signal(sig)
        assert worker.wait(30) == (0 if sig is signal.SIGTERM else -sig)
        wait_until(lambda: servers_using(db) == [], 15, f"the dev server on {db} exits after {sig.name}")
    finally:
        stop(worker)


def test_a_worker_that_reused_the_server_restarts_it_when_its_owner_stops(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    owner = start("worker", env=env)
    reuser = None
    try:
        wait_for_output(owner, RUNNING)
        reuser = start("worker", env=env)
        wait_for_output(reuser, RUNNING)
        db = tmp_path / "temporal" / "temporal.db"
        port = json.loads((tmp_path / "temporal" / "server.json").read_text())["port"]
        assert [parent_of(pid) for pid in servers_using(db)] == [owner.pid]
        owner.send_signal(signal.SIGTERM)
        assert owner.wait(30) == 0
        wait_until(
            lambda: [parent_of(pid) for pid in servers_using(db)] == [reuser.pid],
            30,
            "the reusing worker starts the server again",
        )
        assert json.loads((tmp_path / "temporal" / "server.json").read_text())["port"] == port
        provisioned = start("provision", "acme-1", env=env)
        assert provisioned.wait(60) == 0, provisioned.communicate()
        wait_until(lambda: b"active" in start("tenant", "acme-1", env=env).communicate()[0], 30, "acme-1 is active")
        assert reuser.poll() is None
    finally:
        stop(owner)
        if reuser is not None:
            stop(reuser)


def demo_servers(data_dir: Path) -> list[int]:
    return servers_using(data_dir / "demo" / "temporal" / "temporal.db") + servers_using(
        data_dir / "temporal" / "temporal.db"
    )


def test_the_demo_stopped_by_sigterm_while_it_sets_up_stops_its_dev_server(tmp_path: Path) -> None:
    demo = start("demo", env=cli_env(tmp_path, TEMPORAL_DEV_PORT=str(free_port())))
    try:
        wait_for_output(demo, "waiting for each tenant")
        assert len(demo_servers(tmp_path)) == 1
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(30) == 128 + signal.SIGTERM
        assert demo_servers(tmp_path) == []
    finally:
        stop(demo)


def test_ctrl_c_at_the_demo_prompt_stops_the_demo_without_waiting_for_enter(tmp_path: Path) -> None:
    terminal, tty = pty.openpty()
    demo = start("demo", env=cli_env(tmp_path, TEMPORAL_DEV_PORT=str(free_port())), stdin=tty)
    try:
        wait_for_output(demo, "demo> ", timeout=90)
        os.write(terminal, b"show nobody\n")
        assert "nobody" in wait_for_output(demo, "demo> ")  # it reads commands from the terminal
        demo.send_signal(signal.SIGINT)
        assert demo.wait(15) == 130
        assert demo_servers(tmp_path) == []
    finally:
        stop(demo)
        os.close(terminal)
        os.close(tty)


def test_provisioning_a_tenant_that_exists_says_so_in_one_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path, TEMPORAL_DEV_PORT=str(free_port()))
    first = start("provision", "acme-1", env=env)
    assert first.wait(60) == 0, first.communicate()
    again = start("provision", "acme-1", env=env)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 1
    assert err.decode().strip().splitlines() == [
        "error: tenant acme-1 already exists; see it with `tenantbot tenant acme-1`"
    ]
