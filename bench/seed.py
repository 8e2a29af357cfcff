"""A tenant population on PostgreSQL, seeded in seconds: a fresh schema, the project's migrations,
then COPY of the rows (100,000 tenants in a few seconds, 1,000,000 in well under a minute).

Tenant `i` is `tenant-0000123`; every `1/in_flight`-th tenant is in flight (provisioning, handle of
attempt 1 with the run id the engine gave it), and every `1/wedged`-th of those is wedged: no progress
and no heartbeat for six hours, its run still open in the engine. The rest are mostly active, some
decommissioned, failed or cancelled, each with the handle of a run the engine no longer holds (as
after Temporal's retention). With `history`, each tenant also gets its allocations and audit events,
so `/tenant` reads tables of realistic size.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from core import events as ev
from core.saga import STEPS
from tests.conftest import _fresh_schema

PG_BASE = "postgresql://postgres@127.0.0.1:5432/test"
OTHER_STATES = ["active"] * 90 + ["decommissioned"] * 5 + ["failed"] * 4 + ["cancelled"]
TENANT_COLUMNS = (
    "id, state, workflow_id, run_id, handle_attempt, attempt, error, current_step, "
    "last_progress_at, last_heartbeat_at, created_at, updated_at, version"
)
KINDS = [kind for _, kind in STEPS if kind is not None]


def tenant_id(i: int) -> str:
    return f"tenant-{i:07d}"


def workflow_id(tenant: str) -> str:
    return f"provision-{tenant}-1"


@dataclass(frozen=True)
class Population:
    """Which tenant is what, by formula: nothing but the in-flight lists is kept in memory."""

    tenants: int
    in_flight_share: float = 0.01
    wedged_share: float = 0.01  # of the in-flight tenants

    @property
    def every(self) -> int:
        return max(1, round(1 / self.in_flight_share))

    def kind(self, i: int) -> str:
        if i % self.every:
            return OTHER_STATES[(i // self.every) % len(OTHER_STATES)]
        return "wedged" if (i // self.every) % max(1, round(1 / self.wedged_share)) == 0 else "in_flight"

    def in_flight(self) -> list[str]:
        """Every in-flight tenant, wedged ones included."""
        return [tenant_id(i) for i in range(0, self.tenants, self.every)]

    def of_kind(self, kind: str) -> list[str]:
        step = 1 if kind not in ("in_flight", "wedged") else self.every
        return [tenant_id(i) for i in range(0, self.tenants, step) if self.kind(i) == kind]


@contextlib.contextmanager
def fresh_schema(base: str = PG_BASE) -> Iterator[str]:
    """A fresh schema in `base`'s database, its URL (search_path option), dropped on exit."""
    yield from _fresh_schema(base)


def db_upgrade(url: str, workdir: Path) -> None:
    """The project's own migrations, applied the way an operator would: `tenantbot db upgrade`."""
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(workdir)}
    subprocess.run(
        [sys.executable, "-m", "tenantbot", "db", "upgrade"],
        env=env,
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def seed(url: str, population: Population, run_ids: dict[str, str], *, history: bool) -> float:
    """COPY the tenants (and with `history` their allocations and events); returns the seconds taken."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY tenants ({TENANT_COLUMNS}) FROM STDIN") as copy:
            for i in range(population.tenants):
                copy.write_row(_tenant(i, population.kind(i), now, run_ids))
        if history:
            with cursor.copy(
                "COPY allocations (tenant_id, kind, resource_id, workflow_id, allocated_at) FROM STDIN"
            ) as copy:
                for i in range(population.tenants):
                    for row in _allocations(i, population.kind(i), now):
                        copy.write_row(row)
            with cursor.copy("COPY audit_events (tenant_id, type, actor, at, details) FROM STDIN") as copy:
                for i in range(population.tenants):
                    for row in _events(i, population.kind(i), now):
                        copy.write_row(row)
        connection.commit()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE")
    return time.perf_counter() - started


def _tenant(i: int, kind: str, now: datetime, run_ids: dict[str, str]) -> tuple[object, ...]:
    tid = tenant_id(i)
    wid = workflow_id(tid)
    created = now - timedelta(days=1 + i % 300)
    if kind in ("in_flight", "wedged"):
        stalled = kind == "wedged"
        progress = now - (timedelta(hours=6) if stalled else timedelta(seconds=i % 180))
        heartbeat = now - (timedelta(hours=6) if stalled else timedelta(seconds=5))
        step = STEPS[1 + i % 3][0]
        run_id = run_ids.get(wid)
        return (
            tid,
            "provisioning",
            wid,
            run_id,
            1,
            1,
            None,
            step,
            progress,
            heartbeat,
            now - timedelta(hours=1),
            progress,
            3,
        )
    error = "identity API returned 500 after 3 attempts" if kind == "failed" else None
    old_run = str(uuid.UUID(int=i))
    return (tid, kind, wid, old_run, 1, 1, error, "activate", created, created, created, created, 7)


def _allocations(i: int, kind: str, now: datetime) -> Iterator[tuple[object, ...]]:
    held = {"active": len(KINDS), "failed": 1, "in_flight": 2, "wedged": 2}.get(kind, 0)
    tid = tenant_id(i)
    for kind_name in KINDS[:held]:
        yield (tid, kind_name, f"{kind_name}-{i:07d}", workflow_id(tid), now - timedelta(days=1))


def _events(i: int, kind: str, now: datetime) -> Iterator[tuple[object, ...]]:
    tid = tenant_id(i)
    actor = ev.workflow_actor(workflow_id(tid))
    at = now - timedelta(days=1)
    yield (tid, ev.REQUESTED, "cli", at, "{}")
    steps = {"active": len(STEPS), "in_flight": 2, "wedged": 2, "failed": 1}.get(kind, len(STEPS))
    for n, (step, allocated) in enumerate(STEPS[:steps]):
        yield (tid, ev.STEP_COMPLETED, actor, at + timedelta(seconds=2 * n), json.dumps({"step": step}))
        if allocated is not None:
            yield (tid, ev.ALLOCATED, actor, at + timedelta(seconds=2 * n), json.dumps({"kind": allocated}))
    if kind == "active":
        yield (tid, ev.COMPLETED, actor, at + timedelta(seconds=12), "{}")
