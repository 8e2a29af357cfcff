"""The `tenantbot` command as an operator runs it: one clear line and a non-zero exit for bad input
and for a database or engine that is down, never a traceback; and the view and an action for real."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.domain import Tenant, TenantState, provisioning_handle
from core.persistence import open_database
from tests.integration.temporal.conftest import free_port


def tenantbot(*args: str, data_dir: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATA_DIR": str(data_dir), "TEMPORAL_DEV_PORT": str(free_port()), **env}
    return subprocess.run(
        [sys.executable, "-m", "tenantbot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("args", [("tenant", "ACME 42!"), ("reset", "acme-", "--yes"), ("provision", "x_y")])
def test_a_malformed_tenant_id_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = tenantbot(*args, data_dir=tmp_path)
    assert done.returncode == 2
    assert "is not a tenant id" in one_line_error(done)


def test_an_unknown_fault_is_refused_before_anything_runs(tmp_path: Path) -> None:
    done = tenantbot("provision", "acme", "--fault", "explode", data_dir=tmp_path)
    assert done.returncode == 2 and "unknown fault 'explode'" in one_line_error(done)
    assert not (tmp_path / "tenantbot.db").exists()


def test_a_bad_setting_names_the_variable(tmp_path: Path) -> None:
    done = tenantbot("tenant", "acme", data_dir=tmp_path, STUCK_AFTER="soon")
    assert done.returncode == 2
    assert one_line_error(done).startswith("error: invalid setting STUCK_AFTER:")


def test_a_database_that_is_down_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = tenantbot("tenant", "acme", data_dir=tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:1/test")
    assert done.returncode == 1 and one_line_error(done).startswith("error: database unavailable:")


def test_an_engine_that_cannot_be_reached_is_one_line_and_exit_1(tmp_path: Path) -> None:
    port = free_port()
    done = tenantbot("reset", "acme", "--yes", "--reason", "x", data_dir=tmp_path, TEMPORAL_ADDRESS=f"127.0.0.1:{port}")
    assert done.returncode == 1
    assert one_line_error(done) == f"error: workflow engine unavailable: connect to Temporal at 127.0.0.1:{port}: " + (
        "Connection refused"
    )


def seed(data_dir: Path, *tenants: Tenant) -> None:
    """Write tenant rows straight into the CLI's SQLite database."""

    async def write() -> None:
        database = await open_database(f"sqlite:///{data_dir / 'tenantbot.db'}")
        try:
            for tenant in tenants:
                await database.tenants.add(tenant, [])
        finally:
            await database.close()

    asyncio.run(write())


def test_the_view_shows_what_the_database_knows_when_the_engine_is_down(tmp_path: Path) -> None:
    old = datetime.now(UTC) - timedelta(minutes=30)
    handle = provisioning_handle("acme", 1)
    seed(tmp_path, Tenant("acme", TenantState.PROVISIONING, old, handle=handle, attempt=1, last_progress_at=old))
    done = tenantbot("tenant", "acme", data_dir=tmp_path, TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    assert done.returncode == 0, done.stderr
    assert "Tenant acme: provisioning" in done.stdout and "provision-acme-1" in done.stdout
    assert "engine unreachable" in done.stdout and "allowed now: none" in done.stdout


def test_an_unknown_situation_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = tenantbot("tenants", "--situation", "sad", data_dir=tmp_path)
    assert done.returncode == 2 and "unknown situation 'sad'" in one_line_error(done)


def test_destructive_actions_need_yes_without_a_terminal(tmp_path: Path) -> None:
    done = tenantbot("decommission", "acme", "--reason", "given up on it", data_dir=tmp_path, stdin="")
    assert done.returncode == 2 and "pass --yes" in one_line_error(done)


@pytest.mark.parametrize("action", ["reset", "cancel", "decommission"])
def test_destructive_actions_need_a_reason_without_a_terminal(tmp_path: Path, action: str) -> None:
    done = tenantbot(action, "acme", "--yes", data_dir=tmp_path, stdin="")
    assert done.returncode == 2
    assert one_line_error(done) == (
        f"error: {action} needs a reason: pass --reason TEXT (there is no terminal to ask on); nothing ran"
    )
    assert not (tmp_path / "tenantbot.db").exists()  # refused before anything was opened


@pytest.mark.parametrize(("reason", "says"), [("   ", "Reset needs a reason"), ("x" * 501, "keep it to 500")])
def test_an_empty_or_too_long_reason_is_one_line_and_exit_2(tmp_path: Path, reason: str, says: str) -> None:
    done = tenantbot("reset", "acme", "--yes", "--reason", reason, data_dir=tmp_path, stdin="")
    assert done.returncode == 2 and says in one_line_error(done)


def on_a_terminal(*args: str, data_dir: Path, typed: str) -> subprocess.CompletedProcess[str]:
    """`tenantbot *args` with a terminal as its stdin, on which `typed` is typed."""
    environment = {**os.environ, "DATA_DIR": str(data_dir), "TEMPORAL_DEV_PORT": str(free_port())}
    typist, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "tenantbot", *args],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        os.write(typist, typed.encode())
        out, err = process.communicate(timeout=120)
    finally:
        os.close(typist)
        os.close(terminal)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.temporal
def test_on_a_terminal_reset_says_what_it_does_asks_for_the_reason_and_records_it(tmp_path: Path) -> None:
    assert tenantbot("provision", "acme-8", "--fault", "orphan", data_dir=tmp_path).returncode == 0
    done = on_a_terminal("reset", "acme-8", data_dir=tmp_path, typed="   \nrow names a run the cluster lost\ny\n")
    assert done.returncode == 0, done.stderr
    assert "What will not happen: no allocation is released" in done.stdout and "Reason (" in done.stdout
    assert "Reset needs a reason" in done.stderr  # the blank first answer, asked again
    history = tenantbot("history", "acme-8", "--json", data_dir=tmp_path)
    [started] = [json.loads(line) for line in history.stdout.splitlines() if "reset_started" in line]
    assert started["details"]["reason"] == "row names a run the cluster lost"


@pytest.mark.temporal
def test_provision_then_view_and_reset_from_the_command_line(tmp_path: Path) -> None:
    assert tenantbot("provision", "acme-7", "--fault", "orphan", data_dir=tmp_path).returncode == 0
    shown = tenantbot("tenant", "acme-7", data_dir=tmp_path)
    assert shown.returncode == 0 and "wedged: orphaned handle" in shown.stdout and "allowed now: reset" in shown.stdout
    # an old orphaned row, then 60 tenants changed since: wedged tenants are the stale ones, not the newest
    old, now = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)
    handle = provisioning_handle("lost-1", 1)
    lost = Tenant("lost-1", TenantState.PROVISIONING, old, handle=handle, last_progress_at=old)
    seed(tmp_path, lost, *(Tenant(f"fresh-{i}", TenantState.PENDING, now, last_progress_at=now) for i in range(60)))
    listed = tenantbot("tenants", "--wedged", data_dir=tmp_path)
    assert "lost-1" in listed.stdout and "fresh-" not in listed.stdout
    by_situation = tenantbot("tenants", "--situation", "wedged_orphaned", data_dir=tmp_path)
    assert "lost-1" in by_situation.stdout
    reset = tenantbot("reset", "acme-7", "--yes", "--actor", "alice", "--reason", "orphaned", data_dir=tmp_path)
    assert reset.returncode == 0 and "reset acme-7: done: reset" in reset.stdout
    assert f"reset_completed        cli:{getpass.getuser()} on behalf of alice" in reset.stdout
    unknown = tenantbot("tenant", "nobody", data_dir=tmp_path)
    assert unknown.returncode == 1 and one_line_error(unknown) == "error: no tenant 'nobody'"
    refused = tenantbot("retry", "acme-7", data_dir=tmp_path)  # pending, clean: allowed
    assert refused.returncode == 0
