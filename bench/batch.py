"""A batch Reset and Retry of 500 orphaned tenants, end to end but for the engine: wall time, database time
per member, and the Slack lines it would cause.

    python -m bench.batch [--members 500] [--rate 5] [--postgres URL]

The real service, runner and stores over a fresh SQLite file (or PostgreSQL with `--postgres`), and the
in-memory stand-in engine of the tests (tests/fakes.py: it answers at once, so the figures are tenantbot's
own). The members are rows naming runs the engine never heard of (a cluster reset). At the default rate
(5 tenants/s) 500 members take 100 s by design; `--rate 100` measures the cost instead of the pace. The
canary is off: the stand-in's retries never move, so there is nothing to wait for. Slack: the batch itself
posts nothing yet (no Slack part), and the announcer records its members' actions as seen without
posting them: the lines it would still post are counted here. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.meter import Meter
from core.alerting.announcements import ANNOUNCED
from core.batch_runner import BatchRunner
from core.batches import Kind, NewBatch, select
from core.causes import Cause
from core.decisions import Situation
from core.domain import Tenant, TenantState, provisioning_handle
from core.persistence import open_database
from core.service import TenantService
from tests.fakes import FakeEngine

STORE_CALLS = ("get", "save", "seen_request", "append", "events", "allocations")
BATCH_CALLS = ("get", "members", "mark", "end")


async def bench(url: str, members: int, rate: float) -> None:
    database = await open_database(url)
    try:
        old = datetime.now(UTC) - timedelta(hours=1)
        for i in range(members):
            tenant_id = f"orphan-{i:04d}"
            handle = provisioning_handle(tenant_id, 1)
            state = TenantState.PROVISIONING
            row = Tenant(tenant_id, state, old, handle, 1, current_step="seed_data", last_progress_at=old)
            await database.tenants.add(row, [])
        service = TenantService(database.tenants, FakeEngine())
        runner = BatchRunner(database.batches, service, database.leases, holder="bench")
        ids = [f"orphan-{i:04d}" for i in range(members)]
        wedged = {t: (await service.view(t)).assessment for t in ids}
        selection = select(wedged, Situation.WEDGED_ORPHANED)
        started_at = datetime.now(UTC)
        new = NewBatch(
            Kind.RESET_RETRY, Cause(Situation.WEDGED_ORPHANED), "bench", rate, 0, "bench", started_at, selection.members
        )
        batch = await runner.create(new)
        meter = Meter()
        for method in STORE_CALLS:
            meter.wrap(database.tenants, method)
        for method in BATCH_CALLS:
            meter.wrap(database.batches, method)
        meter.wrap(database.leases, "try_lock")
        began = time.perf_counter()
        ended = await runner.run(batch.id)
        wall = time.perf_counter() - began
        await database.announcements.record_actions(ANNOUNCED, started_at - timedelta(seconds=1), 100_000)
        lines = len(await database.announcements.pending(100_000))
    finally:
        await database.close()
    assert ended is not None
    database_ms = sum(meter.ms.values())
    print(f"{url.split(':')[0]}: {members} members at {rate:g}/s: {ended.progress()}")
    print(
        f"  wall time {wall:.1f} s ({wall / members * 1000:.1f} ms per member; the pace alone: {members / rate:.1f} s)"
    )
    print(f"  database {database_ms / members:.1f} ms per member in {sum(meter.calls.values()) / members:.1f} calls:")
    print("    (get: the tenant's row and the batch's, together)")
    for name, calls in sorted(meter.calls.items(), key=lambda kv: -meter.ms[kv[0]]):
        print(f"    {name:14} {calls / members:5.1f} calls  {meter.ms[name] / members:6.2f} ms per member")
    print(f"  Slack: the batch posts 0 messages; the announcer would post {lines} lines")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--postgres", help="a PostgreSQL URL (its database is used as it is)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(bench(url, args.members, args.rate))


if __name__ == "__main__":
    main()
