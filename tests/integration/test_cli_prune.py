"""`tenantbot prune` as an operator runs it: a dry run counts, a run deletes what retention allows and
says how much, a bad AUDIT_RETENTION or a held lease is one line and a non-zero exit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.alerting.scanner import SCAN_LOCK
from core.persistence import open_database
from tests.integration.test_cli import one_line_error, tenantbot
from tests.integration.test_retention import an_old_database


def seed_old_database(data_dir: Path) -> None:
    async def write() -> None:
        database = await open_database(f"sqlite:///{data_dir / 'tenantbot.db'}")
        try:
            await an_old_database(database, now=datetime.now(UTC))
        finally:
            await database.close()

    asyncio.run(write())


def feed_sizes(data_dir: Path) -> dict[str, int]:
    async def read() -> dict[str, int]:
        database = await open_database(f"sqlite:///{data_dir / 'tenantbot.db'}")
        try:
            return {t: len(await database.tenants.history(t, limit=1000)) for t in ("done-1", "failed-1", "live-1")}
        finally:
            await database.close()

    return asyncio.run(read())


def test_a_dry_run_counts_and_a_run_deletes_what_retention_allows(tmp_path: Path) -> None:
    seed_old_database(tmp_path)
    dry = tenantbot("prune", "--dry-run", data_dir=tmp_path)
    assert dry.returncode == 0, dry.stderr
    counts = (
        "99 audit events, 3 request keys, 3 resolved alerts, 2 alert digests, 2 announcements,"
        " 2 decommission requests, 1 batches older than"
    )
    assert dry.stdout.startswith(f"would delete {counts}") and "(AUDIT_RETENTION 400 d)" in dry.stdout
    assert feed_sizes(tmp_path) == {"done-1": 73, "failed-1": 70, "live-1": 30}
    done = tenantbot("prune", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"deleted {counts}")
    assert feed_sizes(tmp_path) == {"done-1": 3, "failed-1": 50, "live-1": 30}
    again = tenantbot("prune", data_dir=tmp_path, AUDIT_RETENTION="9d")  # a shorter retention reaches further
    assert again.stdout.startswith(
        "deleted 2 audit events, 2 request keys, 1 resolved alerts, 2 alert digests, 1 announcements,"
        " 1 decommission requests, 1 batches"
    )
    assert "(AUDIT_RETENTION 9 d)" in again.stdout and feed_sizes(tmp_path)["done-1"] == 1


def test_a_retention_under_a_day_is_refused_naming_the_variable(tmp_path: Path) -> None:
    done = tenantbot("prune", data_dir=tmp_path, AUDIT_RETENTION="2h")
    assert done.returncode == 2
    assert one_line_error(done).startswith("error: invalid setting AUDIT_RETENTION:")


def test_prune_while_another_replica_holds_the_scan_lease_deletes_nothing_and_says_so(tmp_path: Path) -> None:
    seed_old_database(tmp_path)

    async def hold() -> None:
        database = await open_database(f"sqlite:///{tmp_path / 'tenantbot.db'}")
        try:
            assert await database.leases.try_lock(SCAN_LOCK, "replica-2", now=datetime.now(UTC), ttl=timedelta(hours=1))
        finally:
            await database.close()

    asyncio.run(hold())
    done = tenantbot("prune", data_dir=tmp_path, SCAN_INTERVAL="0.2")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "error: another replica held the scan's lease throughout; nothing was deleted, try again"
    )
    assert feed_sizes(tmp_path) == {"done-1": 73, "failed-1": 70, "live-1": 30}
