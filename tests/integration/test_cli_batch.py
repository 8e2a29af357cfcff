"""`tenantbot batch` as an operator runs it: arguments checked before anything opens, a dry run that changes
nothing, a batch run to its end in the command's own process, and one killed mid-way then resumed without
any member acted on twice (orphaned rows: runs the embedded dev server never heard of)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from core import events as ev
from core.domain import Action
from core.persistence import open_database
from tests.integration.temporal.conftest import free_port
from tests.integration.test_cli import one_line_error, seed, tenantbot
from tests.integration.test_cli_causes import lost

RESET_RETRY = Counter({ev.started(a): 1 for a in (Action.RESET, Action.RETRY)})


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("reset", "--situation", "sad"), "--situation: unknown wedged situation 'sad'"),
        (("reset", "--situation", "pending_clean"), "--situation: unknown wedged situation 'pending_clean'"),
        (("reset", "--situation", "wedged_orphaned", "--step", "nap"), "--step: unknown step 'nap'"),
        (("retry", "--situation", "wedged_orphaned", "--rate", "0"), "--rate: 0 tenants/s is out of range"),
        (("reset-retry", "--situation", "wedged_orphaned", "--canary", "-1"), "--canary: -1 is out of range"),
        (("reset", "--situation", "wedged_orphaned", "--canary", "3"), "--canary: a Reset alone starts no retry"),
        (("reset", "--situation", "wedged_orphaned", "--reason", " "), "--reason: Reset needs a reason"),
        (("reset", "--situation", "wedged_orphaned", "--error", "  "), "--error: empty"),
        (("reset", "--situation", "wedged_orphaned"), "batch reset needs confirmation; pass --yes"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2_before_anything_opens(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    done = tenantbot("batch", *args, data_dir=tmp_path, stdin="")
    assert done.returncode == 2 and said in one_line_error(done)
    assert not (tmp_path / "tenantbot.db").exists()


@pytest.mark.temporal
def test_a_dry_run_lists_every_member_and_what_is_left_out_and_changes_nothing(tmp_path: Path) -> None:
    seed(tmp_path, *(lost(f"orphan-{i}", "seed_data") for i in range(12)), lost("elsewhere", "activate"))
    done = tenantbot(
        "batch", "reset-retry", "--situation", "wedged_orphaned", "--step", "seed_data", "--dry-run", data_dir=tmp_path
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("reset-retry of 12 tenant(s) orphaned at `seed_data`: orphan-0, orphan-1, orphan-10")
    assert "elsewhere" not in done.stdout and "more" not in first
    assert "canary: the first 5, then wait" in done.stdout
    assert tenantbot("batch", "status", data_dir=tmp_path).stdout.strip() == "no batches"


@pytest.mark.temporal
def test_a_batch_runs_to_its_end_in_the_command_and_its_status_shows_each_member(tmp_path: Path) -> None:
    seed(tmp_path, *(lost(f"orphan-{i}", "seed_data") for i in range(3)))
    done = tenantbot(
        "batch",
        "reset-retry",
        "--situation",
        "wedged_orphaned",
        "--reason",
        "cluster reset",
        "--yes",
        data_dir=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "[1/3] orphan-0: done: reset; retried" in lines
    assert lines[-1] == "batch 1 reset-retry wedged_orphaned (finished): 3/3 handled: 3 done, 0 refused, 0 failed"
    status = tenantbot("batch", "status", "1", data_dir=tmp_path)
    assert (
        status.returncode == 0
        and ": cluster reset" in status.stdout
        and "orphan-2 done: reset; retried" in status.stdout
    )
    again = tenantbot("batch", "stop", "1", data_dir=tmp_path)
    assert again.returncode == 0 and "(finished)" in again.stdout
    unknown = tenantbot("batch", "stop", "9", data_dir=tmp_path)
    assert unknown.returncode == 1 and one_line_error(unknown) == "error: no batch 9"


@pytest.mark.temporal
def test_a_batch_killed_mid_way_resumes_and_acts_on_no_member_twice(tmp_path: Path) -> None:
    ids = [f"orphan-{i}" for i in range(8)]
    seed(tmp_path, *(lost(t, "seed_data") for t in ids))
    env = {**os.environ, "DATA_DIR": str(tmp_path), "TEMPORAL_DEV_PORT": str(free_port()), "PYTHONUNBUFFERED": "1"}
    env["PROCESS_LEASE"] = "2s"
    args = ["batch", "reset-retry", "--situation", "wedged_orphaned", "--rate", "2", "--canary", "0", "--yes"]
    batch = subprocess.Popen([sys.executable, "-m", "tenantbot", *args], stdout=subprocess.PIPE, text=True, env=env)
    assert batch.stdout is not None
    for line in batch.stdout:
        if line.startswith("[3/8]"):
            break
    batch.send_signal(signal.SIGKILL)
    batch.wait(30)
    time.sleep(2.5)  # its lease runs out

    resumed = tenantbot("batch", "resume", "1", data_dir=tmp_path, PROCESS_LEASE="2s")

    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[-1].endswith("8/8 handled: 8 done, 0 refused, 0 failed")
    assert asyncio.run(started_actions(tmp_path, ids)) == {t: RESET_RETRY for t in ids}


async def started_actions(data_dir: Path, ids: list[str]) -> dict[str, Counter[str]]:
    database = await open_database(f"sqlite:///{data_dir / 'tenantbot.db'}")
    try:
        kinds = {ev.started(Action.RESET), ev.started(Action.RETRY)}
        return {t: Counter(e.type for e in await database.tenants.events(t, 100) if e.type in kinds) for t in ids}
    finally:
        await database.close()


@pytest.mark.temporal
def test_a_cause_nobody_has_says_so_and_records_no_batch(tmp_path: Path) -> None:
    seed(tmp_path, lost("orphan-1", "seed_data"))
    done = tenantbot("batch", "reset", "--situation", "wedged_error", "--yes", data_dir=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("no wedged tenant has that cause")
    assert tenantbot("batch", "status", data_dir=tmp_path).stdout.strip() == "no batches"
