"""How long the scheduler's "all in-flight tenants" query takes at a million tenants, and its plan.

    python -m bench.in_flight_query [--rows 1000000] [--in-flight 0.01] [--postgres URL]

Fills a fresh SQLite file (and PostgreSQL when reachable) with tenants, ~1% of them in flight, then
times `SqlTenantStore.in_flight()` (every in-flight row in full) and `in_flight_refs()` (the narrow read
the wedge scan makes every tick), median of 5, and prints the query plan to show the partial index is
used. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench.seed import PG_BASE, fresh_schema
from core.persistence import open_database
from core.persistence.orm import IN_FLIGHT_SQL, TenantRow
from tests.conftest import postgres_reachable

STATES = ["active"] * 90 + ["decommissioned"] * 5 + ["failed"] * 4 + ["cancelled"]


async def bench(url: str, rows: int, in_flight: float) -> None:
    database = await open_database(url)
    store = database.tenants
    now = datetime.now(UTC)
    every = max(1, int(1 / in_flight))
    started = time.perf_counter()
    batch: list[dict[str, object]] = []
    async with database.engine.begin() as connection:
        for i in range(rows):
            state = "provisioning" if i % every == 0 else STATES[i % len(STATES)]
            batch.append(
                {"id": f"t{i:07d}", "state": state, "attempt": 1, "created_at": now, "updated_at": now, "version": 1}
            )
            if len(batch) == 20_000:
                await connection.execute(insert(TenantRow), batch)
                batch = []
        if batch:
            await connection.execute(insert(TenantRow), batch)
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql("ANALYZE tenants")
    print(f"{url.split('?')[0]}: inserted {rows:,} tenants in {time.perf_counter() - started:.1f} s")
    since = now - timedelta(minutes=10)
    for name, read in (("in_flight()", store.in_flight), ("in_flight_refs()", lambda: store.in_flight_refs(since))):
        timings = []
        for _ in range(5):
            t0 = time.perf_counter()
            found = await read()
            timings.append((time.perf_counter() - t0) * 1000)
        print(
            f"  {name}: {len(found):,} rows, median {statistics.median(timings):.1f} ms "
            f"(min {min(timings):.1f}, max {max(timings):.1f})"
        )
    explain = "EXPLAIN QUERY PLAN" if url.startswith("sqlite") else "EXPLAIN"
    async with database.engine.connect() as connection:
        plan = (await connection.execute(text(f"{explain} SELECT * FROM tenants WHERE {IN_FLIGHT_SQL}"))).all()
    for line in plan:
        print(f"  plan: {line[-1]}")
    await database.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--in-flight", type=float, default=0.01)
    parser.add_argument("--postgres", default=PG_BASE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await bench(f"sqlite:///{Path(tmp) / 'bench.db'}", args.rows, args.in_flight)
    if not postgres_reachable(args.postgres):
        print(f"PostgreSQL skipped: nothing answers at {args.postgres}")
        return
    with fresh_schema(args.postgres) as url:
        await bench(url, args.rows, args.in_flight)


if __name__ == "__main__":
    asyncio.run(main())
