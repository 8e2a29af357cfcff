"""The bare calls a scan tick makes, timed on their own: the floor a tick is compared with.

Each is the plainest way to ask the same question, with psycopg and the Temporal client: the narrow
read of every in-flight tenant's id and handle (through the partial index, with the same "progressing"
expression), the full rows of the suspects by id, the runs closed in the last minute, a count of the
running runs among 1,000 ids (the mean over every in-flight id, as a reconcile counts them), one
`WorkflowId IN (1,000 ids)` listing, and 50 describes at the finder's concurrency (8). Also, for
reference, the bare `SELECT *` of every in-flight row and (once) the listing of every running run,
which is what a tick cost before (bench.scan_tick prints them beside the tick).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from temporalio.client import Client

from core.persistence.orm import IN_FLIGHT_SQL
from core.run_census import BATCH

IN_BATCH = BATCH
DESCRIBES = 50
DESCRIBE_CONCURRENCY = 8
STUCK_AFTER = timedelta(minutes=10)  # the app's default, as the bench's scan runs with it
REFS_SQL = (
    "SELECT id, workflow_id, handle_attempt, run_id, (state IN ('pending', 'provisioning') AND workflow_id IS NOT NULL"
    " AND error IS NULL AND claim_action IS NULL AND COALESCE(last_progress_at, created_at) > %s)"
    f" FROM tenants WHERE {IN_FLIGHT_SQL}"
)


@dataclass(frozen=True)
class Floor:
    select_ms: float  # SELECT * of every in-flight row: the tick's read before
    rows: int
    refs_ms: float
    by_id_ms: float  # the suspects' full rows
    closed_ms: float
    count_ms: float  # one count, the mean over counting every in-flight id, BATCH at a time (as a reconcile does)
    in_ms: float
    describes_ms: float  # for DESCRIBES describes
    list_ms: float | None  # every running run: the tick's engine call before (measured once)
    listed: int

    def for_tick(self, closed: int, counts: int, listings: int, describes: int) -> float:
        """What the bare calls of a tick with these engine calls add up to, in ms."""
        engine = closed * self.closed_ms + counts * self.count_ms + listings * self.in_ms
        return self.refs_ms + self.by_id_ms + engine + describes / DESCRIBES * self.describes_ms


async def _timed(call: Awaitable[int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = await call
    return (time.perf_counter() - started) * 1000, count


async def measure(
    client: Client,
    connection: psycopg.AsyncConnection,
    task_queue: str,
    ids: Sequence[str],
    handles: Sequence[tuple[str, str]],
    *,
    listing: bool = False,
) -> Floor:
    """One round of every bare call; `ids` (workflow ids) feed the count and the IN call, `handles`
    (workflow id, run id of the suspects) the by-id read and the describes; `listing` adds the listing."""

    async def select() -> int:
        return len(await (await connection.execute(f"SELECT * FROM tenants WHERE {IN_FLIGHT_SQL}")).fetchall())

    async def refs() -> int:
        since = datetime.now(UTC) - STUCK_AFTER
        return len(await (await connection.execute(REFS_SQL, (since,))).fetchall())

    async def by_id() -> int:
        tenants = [w.removeprefix("provision-").removesuffix("-1") for w, _ in handles]
        query = f"SELECT * FROM tenants WHERE {IN_FLIGHT_SQL} AND id = ANY(%s)"
        return len(await (await connection.execute(query, (tenants,))).fetchall())

    async def closed() -> int:
        stamp = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        query = f'TaskQueue="{task_queue}" AND ExecutionStatus!="Running" AND CloseTime>"{stamp}"'
        return len([run async for run in client.list_workflows(query, page_size=1000)])

    batches = [", ".join(f'"{i}"' for i in ids[start : start + IN_BATCH]) for start in range(0, len(ids), IN_BATCH)]
    names = batches[0]

    async def counts() -> int:
        for batch in batches:
            await client.count_workflows(f'WorkflowId IN ({batch}) AND ExecutionStatus="Running"')
        return len(batches)

    async def by_ids() -> int:
        return len([run async for run in client.list_workflows(f"WorkflowId IN ({names})", page_size=1000)])

    async def every_running() -> int:
        query = f'ExecutionStatus="Running" AND TaskQueue="{task_queue}"'
        return len([run async for run in client.list_workflows(query, page_size=1000)])

    async def describes() -> int:
        gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)

        async def one(workflow_id: str, run_id: str) -> None:
            async with gate:
                await client.get_workflow_handle(workflow_id, run_id=run_id).describe()

        await asyncio.gather(*(one(w, r) for w, r in handles[:DESCRIBES]))
        return len(handles[:DESCRIBES])

    select_ms, rows = await _timed(select())
    refs_ms, _ = await _timed(refs())
    by_id_ms, _ = await _timed(by_id())
    closed_ms, _ = await _timed(closed())
    all_counts_ms, batches_counted = await _timed(counts())
    count_ms = all_counts_ms / batches_counted
    in_ms, _ = await _timed(by_ids())
    describes_ms, _ = await _timed(describes())
    list_ms, listed = await _timed(every_running()) if listing else (None, 0)
    return Floor(select_ms, rows, refs_ms, by_id_ms, closed_ms, count_ms, in_ms, describes_ms, list_ms, listed)
