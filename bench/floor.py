"""The bare calls a scan tick makes, timed on their own: the floor a tick is compared with.

Each is the plainest way to ask the same question: psycopg for the in-flight rows (through the
partial index), the Temporal client for the listing of running runs, one `WorkflowId IN (500 ids)`
visibility call, and 50 describes at the finder's concurrency (8).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

import psycopg
from temporalio.client import Client

from core.persistence.orm import IN_FLIGHT_SQL

IN_BATCH = 500
DESCRIBES = 50
DESCRIBE_CONCURRENCY = 8


@dataclass(frozen=True)
class Floor:
    select_ms: float
    rows: int
    list_ms: float
    listed: int
    in_ms: float
    describes_ms: float  # for DESCRIBES describes

    def for_tick(self, visibility_calls: int, describes: int) -> float:
        """What the bare calls of a tick with these engine calls add up to, in ms."""
        return self.select_ms + self.list_ms + visibility_calls * self.in_ms + describes / DESCRIBES * self.describes_ms


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
) -> Floor:
    """One round of every bare call; `ids` feed the IN call, `handles` (workflow id, run id) the describes."""

    async def select() -> int:
        cursor = await connection.execute(f"SELECT * FROM tenants WHERE {IN_FLIGHT_SQL}")
        return len(await cursor.fetchall())

    async def listing() -> int:
        query = f'ExecutionStatus="Running" AND TaskQueue="{task_queue}"'
        return len([run async for run in client.list_workflows(query, page_size=1000)])

    async def by_id() -> int:
        names = ", ".join(f'"{i}"' for i in ids[:IN_BATCH])
        return len([run async for run in client.list_workflows(f"WorkflowId IN ({names})", page_size=1000)])

    async def describes() -> int:
        gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)

        async def one(workflow_id: str, run_id: str) -> None:
            async with gate:
                await client.get_workflow_handle(workflow_id, run_id=run_id).describe()

        await asyncio.gather(*(one(w, r) for w, r in handles[:DESCRIBES]))
        return len(handles[:DESCRIBES])

    select_ms, rows = await _timed(select())
    list_ms, listed = await _timed(listing())
    in_ms, _ = await _timed(by_id())
    describes_ms, _ = await _timed(describes())
    return Floor(select_ms, rows, list_ms, listed, in_ms, describes_ms)
