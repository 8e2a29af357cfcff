"""The command line's actor is who ran it, across the commands that act: every event records `cli:<os user>`,
`--actor NAME` is recorded beside it as "on behalf of" (never instead), a bad NAME is one line and exit 2
before anything runs, and `tenantbot decommission` is break-glass: it runs at once (with --yes, or asked on a
terminal) without a second person, audited as such."""

from __future__ import annotations

import asyncio
import getpass
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.domain import AuditEvent, Tenant, TenantState, provisioning_handle
from core.persistence import open_database
from tests.integration.test_cli import one_line_error, seed, tenantbot

pytestmark = pytest.mark.temporal
ME = f"cli:{getpass.getuser()}"


def failed(tenant_id: str) -> Tenant:
    """A tenant whose attempt failed cleanly: Retry and Decommission are allowed."""
    now = datetime.now(UTC)
    handle = provisioning_handle(tenant_id, 1)
    return Tenant(tenant_id, TenantState.FAILED, now, handle=handle, attempt=1, last_progress_at=now, error="quota")


def events(data_dir: Path, tenant_id: str) -> list[AuditEvent]:
    async def read() -> list[AuditEvent]:
        database = await open_database(f"sqlite:///{data_dir / 'tenantbot.db'}")
        try:
            return list(reversed(await database.tenants.events(tenant_id, 50)))
        finally:
            await database.close()

    return asyncio.run(read())


def started(data_dir: Path, tenant_id: str, kind: str) -> AuditEvent:
    return next(e for e in events(data_dir, tenant_id) if e.type == f"tenant.provisioning.{kind}")


def test_every_action_records_the_os_user_and_actor_only_as_on_behalf_of(tmp_path: Path, temporal_address: str) -> None:
    seed(tmp_path, failed("acme-1"), failed("acme-2"))
    engine = {"TEMPORAL_ADDRESS": temporal_address}
    retried = tenantbot("retry", "acme-1", "--actor", "alice@example.com", data_dir=tmp_path, **engine)
    assert retried.returncode == 0, retried.stderr
    event = started(tmp_path, "acme-1", "retry_started")
    assert event.actor == ME and event.details["on_behalf_of"] == "alice@example.com"
    assert f"retry_started          {ME} on behalf of alice@example.com" in retried.stdout
    cancelled = tenantbot(
        "cancel", "acme-1", "--yes", "--reason", "asked", data_dir=tmp_path, **engine
    )  # no --actor: nobody beside
    assert cancelled.returncode == 0, cancelled.stderr
    cancel = started(tmp_path, "acme-1", "cancel_started")
    assert cancel.actor == ME and "on_behalf_of" not in cancel.details
    provisioned = tenantbot("provision", "acme-3", "--actor", "U0BOB", data_dir=tmp_path, **engine)
    assert provisioned.returncode == 0, provisioned.stderr
    for kind in ("requested", "retry_started"):
        event = started(tmp_path, "acme-3", kind)
        assert (event.actor, event.details["on_behalf_of"]) == (ME, "U0BOB")


def test_decommission_from_the_command_line_is_break_glass_it_runs_at_once_and_is_audited_so(
    tmp_path: Path, temporal_address: str
) -> None:
    seed(tmp_path, failed("acme-2"))
    done = tenantbot(
        "decommission",
        "acme-2",
        "--yes",
        "--reason",
        "contract ended",
        "--actor",
        "carol",
        data_dir=tmp_path,
        TEMPORAL_ADDRESS=temporal_address,
    )
    assert done.returncode == 0, done.stderr
    event = started(tmp_path, "acme-2", "decommission_started")
    assert event.actor == ME and event.details["break_glass"] is True and event.details["on_behalf_of"] == "carol"
    assert "(break-glass)" in done.stdout
    assert not [e for e in events(tmp_path, "acme-2") if "approv" in e.type or "requested" in e.type]


def test_decommission_on_a_terminal_asks_first_and_a_no_runs_nothing(tmp_path: Path, temporal_address: str) -> None:
    seed(tmp_path, failed("acme-4"))
    env = {**os.environ, "DATA_DIR": str(tmp_path), "TEMPORAL_ADDRESS": temporal_address}
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tenantbot", "decommission", "acme-4", "--reason", "contract ended"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    shown = b""
    while b"Decommission acme-4?" not in shown:
        chunk = os.read(leader, 1024)
        assert chunk, shown
        shown += chunk
    os.write(leader, b"n\n")
    assert process.wait(timeout=60) == 2
    os.close(leader)
    assert b"Break-glass" in shown
    assert events(tmp_path, "acme-4") == []


@pytest.mark.parametrize("name", ["bad name", "cli:root", "-x", "a" * 65, "ali\x1b[2Jce"])
def test_a_bad_actor_name_is_one_line_and_exit_2_before_anything_runs(tmp_path: Path, name: str) -> None:
    done = tenantbot("reset", "acme-1", "--yes", "--actor", name, data_dir=tmp_path)
    assert done.returncode == 2 and "--actor" in one_line_error(done)
    assert not (tmp_path / "tenantbot.db").exists()
