"""How long a retention run takes to delete old audit events, and what a dry run costs.

    python -m bench.retention [--tenants 20000] [--events 10] [--state active] [--postgres URL]

Fills a fresh SQLite file (and PostgreSQL when reachable) with `--tenants` tenants in `--state`, each
with `--events` audit events 500 days old and one from yesterday, then times `Retention.count()` (the
dry run) and `Retention.prune()` in one slice (batches of 1,000). With `--state failed` every tenant
keeps its last 50 events, so the run passes over the kept ones. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bench.seed import PG_BASE, fresh_schema
from core.alerting.scanner import SCAN_LOCK
from core.persistence import open_database
from core.persistence.orm import AuditEventRow, TenantRow
from core.retention import Pruned, Retention
from tests.conftest import postgres_reachable


async def bench(url: str, tenants: int, events: int, state: str) -> None:
    database = await open_database(url)
    now = datetime.now(UTC)
    old = now - timedelta(days=500)
    event = {"type": "tenant.provisioning.x", "actor": "U1", "details": {}}
    rows = [
        {**event, "tenant_id": f"t{i}", "at": old + timedelta(seconds=j * tenants + i)}
        for j in range(events)
        for i in range(tenants)
    ]
    rows += [{**row, "at": now - timedelta(days=1)} for row in rows[:tenants]]
    seeded = [
        {"id": f"t{i}", "state": state, "attempt": 1, "created_at": old, "updated_at": old, "version": 1}
        for i in range(tenants)
    ]
    async with database.engine.begin() as connection:
        await connection.execute(insert(TenantRow), seeded)
        for start in range(0, len(rows), 20_000):
            await connection.execute(insert(AuditEventRow), rows[start : start + 20_000])
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql("ANALYZE audit_events")
    run = Retention(
        database.retention,
        database.leases,
        keep_for=timedelta(days=400),
        lock=SCAN_LOCK,
        holder="bench",
        clock=lambda: datetime.now(UTC),
        lease=timedelta(minutes=2),
        hold_for=timedelta(hours=1),
    )
    started = time.perf_counter()
    counted = await run.count()
    dry = time.perf_counter() - started

    async def no_pause() -> None:
        return None

    started = time.perf_counter()
    report = await run.prune(no_pause)
    spent = time.perf_counter() - started
    deleted = report.counts[Pruned.AUDIT_EVENTS]
    print(f"{url.split('?')[0]}: {len(rows):,} events of {tenants:,} {state} tenants")
    print(f"  dry run: {counted.counts[Pruned.AUDIT_EVENTS]:,} to delete, counted in {dry:.2f} s")
    print(f"  prune: {deleted:,} deleted in {spent:.2f} s ({deleted / spent:,.0f} rows/s)")
    await database.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10, help="old events per tenant")
    parser.add_argument("--state", default="active", help="the tenants' state: active, failed, …")
    parser.add_argument("--postgres", default=PG_BASE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await bench(f"sqlite:///{Path(tmp) / 'bench.db'}", args.tenants, args.events, args.state)
    if not postgres_reachable(args.postgres):
        print(f"PostgreSQL skipped: nothing answers at {args.postgres}")
        return
    with fresh_schema(args.postgres) as url:
        await bench(url, args.tenants, args.events, args.state)


if __name__ == "__main__":
    asyncio.run(main())
