"""`tenantbot freeze --reason` and `tenantbot unfreeze` as an operator runs them, on SQLite and PostgreSQL:
another process sees the switch at once, `tenantbot tenant` shows it, an action from the command line is
refused and audited while frozen, and bad input or a database that is down is one line."""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.domain import Tenant, TenantState
from core.freeze import Freeze
from core.persistence import open_database
from tests.integration.temporal.conftest import free_port
from tests.integration.test_cli import one_line_error, seed, tenantbot

ME = f"cli:{getpass.getuser()}"


def switch_in(database_url: str) -> Freeze | None:
    """The switch as another process reads it (its own connection pool)."""

    async def read() -> Freeze | None:
        database = await open_database(database_url)
        try:
            return await database.freezes.current()
        finally:
            await database.close()

    return asyncio.run(read())


def test_a_freeze_from_the_command_line_is_seen_by_another_process_at_once_and_unfreeze_lifts_it(
    database_url: str, tmp_path: Path
) -> None:
    frozen = tenantbot("freeze", "--reason", "database failover", data_dir=tmp_path, DATABASE_URL=database_url)
    assert frozen.returncode == 0, frozen.stderr
    assert frozen.stdout.startswith(f"frozen by {ME} since ") and "refused until `tenantbot unfreeze`" in frozen.stdout
    seen = switch_in(database_url)
    assert seen is not None and (seen.by, seen.reason) == (ME, "database failover")
    again = tenantbot("freeze", "--reason", "me too", data_dir=tmp_path, DATABASE_URL=database_url)
    assert again.returncode == 0 and "already frozen" in again.stdout and "database failover" in again.stdout
    lifted = tenantbot("unfreeze", data_dir=tmp_path, DATABASE_URL=database_url)
    assert lifted.returncode == 0 and lifted.stdout.startswith("unfrozen: actions run again")
    assert switch_in(database_url) is None
    twice = tenantbot("unfreeze", data_dir=tmp_path, DATABASE_URL=database_url)
    assert twice.returncode == 0 and twice.stdout.strip() == "not frozen; nothing changed"


def test_the_view_shows_the_switch(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    seed(tmp_path, Tenant("acme", TenantState.PENDING, now, last_progress_at=now))
    unreachable = {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}  # the view needs no engine
    assert tenantbot("freeze", "--reason", "look first", data_dir=tmp_path).returncode == 0
    shown = tenantbot("tenant", "acme", data_dir=tmp_path, **unreachable)
    assert (
        f"read-only: FROZEN by {ME} since " in shown.stdout and ": look first; every action is refused" in shown.stdout
    )


@pytest.mark.temporal
def test_an_action_from_the_command_line_while_frozen_is_refused_with_who_and_why_and_audited(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    seed(tmp_path, Tenant("acme", TenantState.PENDING, now, last_progress_at=now))  # pending, clean: Retry allowed
    assert tenantbot("freeze", "--reason", "look first", data_dir=tmp_path).returncode == 0
    refused = tenantbot("retry", "acme", "--actor", "bob", data_dir=tmp_path)
    assert refused.returncode == 1
    assert refused.stdout.startswith(f"retry acme: refused: tenantbot is frozen (read-only) by {ME} since ")
    assert one_line_error(refused).endswith(": look first")
    history = tenantbot("history", "acme", data_dir=tmp_path)
    assert "action_refused" in history.stdout and "bob" in history.stdout and "look first" in history.stdout
    assert "retry_started" not in history.stdout


@pytest.mark.parametrize(("reason", "why"), [("   ", "needs a reason"), ("a\x1b[2Jb", "control character")])
def test_a_bad_reason_is_one_line_and_exit_2_and_records_nothing(tmp_path: Path, reason: str, why: str) -> None:
    done = tenantbot("freeze", "--reason", reason, data_dir=tmp_path)
    assert done.returncode == 2 and why in one_line_error(done)
    assert not (tmp_path / "tenantbot.db").exists()


def test_a_database_that_is_down_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = tenantbot("freeze", "--reason", "x", data_dir=tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:1/t")
    assert done.returncode == 1 and one_line_error(done).startswith("error: database unavailable:")
