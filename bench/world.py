"""A seeded world for the benchmarks: a real Temporal dev server holding the open runs of the in-flight
tenants, and a fresh PostgreSQL schema (migrated by `tenantbot db upgrade`) holding the tenants.

The dev server is started the way tenantbot starts its embedded one, in `<data dir>/temporal`, so a
`tenantbot serve` given the same DATA_DIR reuses it (see README, "The embedded engine"); this process
owns it and stops it at the end. The runs are real `ProvisionTenant` workflows on tenantbot's task
queue, started with a one-day start delay: the engine lists them as running and describes them, but
no worker picks them up, so a `serve` (which always runs the saga's worker) stays idle instead of
executing ten thousand sagas.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from bench.seed import Population, db_upgrade, fresh_schema, seed, workflow_id
from core.adapters.dev_server_state import ServerState
from core.adapters.temporal_server import dev_server, find_binary
from core.saga import ProvisionInput, RunRef
from core.saga.workflows import ProvisionTenant

TASK_QUEUE = "tenant-provisioning"  # tenantbot's default TEMPORAL_TASK_QUEUE
SIGNING_SECRET = "bench-signing-secret"
START_DELAY = timedelta(days=1)


@dataclass(frozen=True)
class World:
    data_dir: Path
    database_url: str
    temporal_address: str
    client: Client
    population: Population
    run_ids: dict[str, str]  # workflow id -> run id of every open run
    engine_pid: int  # the dev server's

    def serve_env(self, slack_api_url: str, port: int, **extra: str) -> dict[str, str]:
        """The environment of a `tenantbot serve` (or CLI command) on this world, over HTTP."""
        return {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_api_url,
            "DATABASE_URL": self.database_url,
            "DATA_DIR": str(self.data_dir),
            "PORT": str(port),
            **extra,
        }


@asynccontextmanager
async def seeded_world(population: Population, *, runs: int | None = None, history: bool) -> AsyncIterator[World]:
    """`runs` open runs (default: one per in-flight tenant). Fewer: the in-flight tenants past them
    name runs the engine does not know (orphaned); more: runs no tenant row names."""
    with tempfile.TemporaryDirectory(prefix="tenantbot-bench-") as tmp, fresh_schema() as url:
        data_dir = Path(tmp)
        started = time.perf_counter()
        db_upgrade(url, data_dir)
        print(f"seed: schema + `tenantbot db upgrade` {time.perf_counter() - started:.1f} s")
        async with dev_server(find_binary(), state_dir=data_dir / "temporal") as address:
            client = await Client.connect(address)
            in_flight = [workflow_id(t) for t in population.in_flight()]
            count = len(in_flight) if runs is None else runs
            wanted = in_flight[:count] + [f"provision-untracked-{n:07d}-1" for n in range(count - len(in_flight))]
            run_ids, took = await start_runs(client, wanted)
            print(
                f"seed: {len(run_ids):,} open runs in {took:.1f} s ({len(run_ids) / took:.0f}/s); "
                f"{len(in_flight):,} tenants in flight, {max(0, len(in_flight) - count):,} of them orphaned"
            )
            took = await asyncio.to_thread(seed, url, population, run_ids, history=history)
            print(f"seed: {population.tenants:,} tenants{' with history' if history else ''} in {took:.1f} s")
            recorded = ServerState(data_dir / "temporal").recorded()
            yield World(data_dir, url, address, client, population, run_ids, recorded.pid if recorded else 0)


async def start_runs(
    client: Client, workflow_ids: Sequence[str], concurrency: int = 64
) -> tuple[dict[str, str], float]:
    """Start the runs concurrently, then wait until visibility lists them all; (run ids, seconds)."""
    gate = asyncio.Semaphore(concurrency)

    async def start(wid: str) -> tuple[str, str]:
        tenant = wid.removeprefix("provision-").removesuffix("-1")
        async with gate:
            handle = await client.start_workflow(
                ProvisionTenant.run,
                ProvisionInput(RunRef(tenant, wid, 1)),
                id=wid,
                task_queue=TASK_QUEUE,
                start_delay=START_DELAY,
            )
        return wid, handle.result_run_id or ""

    started = time.perf_counter()
    run_ids = dict(await asyncio.gather(*(start(w) for w in workflow_ids)))
    query = f'ExecutionStatus="Running" AND TaskQueue="{TASK_QUEUE}"'
    while (await client.count_workflows(query)).count < len(run_ids):
        await asyncio.sleep(0.2)
    return run_ids, time.perf_counter() - started
