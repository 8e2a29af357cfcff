"""What one wedge-scan tick costs: database time, engine calls and Slack calls, tick after tick.

    python -m bench.scan_cost [--in-flight 10000] [--ticks 12]

Two scenarios, each on a fresh SQLite file: a mass wedge (5% of the in-flight
runs deleted from the engine, as after a cluster reset) and a mixed day (1.5% slow but alive, 1% hung,
0.5% closed behind the bot's back, 1% orphaned). The engine is an in-process stand-in that counts
calls by kind: runs closed since the last tick, counts and listings of `WorkflowId IN` batches
(1,000 ids), describes (bench.scan_tick times them on the real dev server). Slack is a counter (the real
notifier paces posts to one a second). Ticks are one minute apart on the scan's clock, so every fifth
is a reconcile. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, update

from core.alerting.model import Alert, Announcement, Digest
from core.alerting.nudges import ResetNudge
from core.alerting.scanner import Scanner
from core.batches import Batch
from core.decisions import Limits
from core.domain import ClosedRun, RunHandle, RunObservation, RunStatus
from core.persistence import open_database
from core.persistence.orm import TenantRow
from core.wedged import Sweep, WedgeFinder

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CLOSED_AT = START - timedelta(seconds=30)
RUNNING = ("progressing", "slow", "hung")
MIXES = {
    "mass wedge": {"orphaned": 0.05},
    "mixed day": {"slow": 0.015, "hung": 0.01, "closed": 0.005, "orphaned": 0.01},
}


class CountingEngine:
    def __init__(self, kinds: dict[str, str]) -> None:
        self.kinds, self.calls = kinds, Counter[str]()

    async def closed_since(self, after: datetime) -> Sequence[ClosedRun]:
        self.calls["closed_since"] += 1
        closed = after < CLOSED_AT  # the runs closed behind the bot's back just before the first tick
        return [ClosedRun(w, "r", RunStatus.TERMINATED) for w, k in self.kinds.items() if k == "closed" and closed]

    async def count_running(self, handles: Sequence[RunHandle]) -> int:
        self.calls["count_running"] += 1
        return sum(self.kinds.get(h.workflow_id) in RUNNING for h in handles)

    async def run_statuses(self, handles: Sequence[RunHandle]) -> dict[str, RunStatus]:
        self.calls["run_statuses"] += 1
        statuses = {k: RunStatus.RUNNING for k in RUNNING} | {"closed": RunStatus.TERMINATED}
        return {h.workflow_id: statuses[k] for h in handles if (k := self.kinds.get(h.workflow_id, "")) in statuses}

    async def describe(self, handle: RunHandle) -> RunObservation:
        self.calls["describe"] += 1
        kind = self.kinds[handle.workflow_id]
        beat = self.now if kind == "slow" else START - timedelta(hours=1)
        return RunObservation(RunStatus.RUNNING, "step", 1, beat, timedelta(seconds=60))

    now = START


class CountingSlack:
    dry_run = False

    def __init__(self) -> None:
        self.calls = Counter[str]()

    async def post_alert(self, alert: Alert) -> str:
        self.calls["post"] += 1
        return f"C/{self.calls['post']}"

    async def post_digest(self, digest: Digest, members: Sequence[Alert]) -> str:
        self.calls["post"] += 1
        return f"C/{self.calls['post']}"

    async def update_alert(self, alert: Alert) -> None:
        self.calls["update"] += 1

    async def update_digest(self, digest: Digest, members: Sequence[Alert]) -> None:
        self.calls["update"] += 1

    async def reply(self, message_ref: str, text: str) -> None:
        self.calls["reply"] += 1

    async def announce(self, line: Announcement, thread: str | None) -> str:
        self.calls["announce"] += 1
        return f"C/a{self.calls['announce']}"

    async def announce_batch(self, batch: Batch, left_today: int) -> str:
        self.calls["announce"] += 1
        return f"C/b{self.calls['announce']}"

    async def remind_reset(self, thread: str | None, resetter: str, nudges: Sequence[ResetNudge]) -> None:
        self.calls["remind_reset"] += 1


def tenant_rows(count: int, mix: dict[str, float]) -> tuple[list[dict[str, object]], dict[str, str]]:
    rows, kinds = [], {}
    bounds, edge = [], 0.0
    for kind, share in mix.items():
        edge += share
        bounds.append((edge, kind))
    for i in range(count):
        kind = next((k for limit, k in bounds if (i % 1000) / 1000 < limit), "progressing")
        workflow = f"provision-t{i:06d}-1"
        kinds[workflow] = kind
        stalled = kind != "progressing"
        rows.append(
            {
                "id": f"t{i:06d}",
                "state": "provisioning",
                "workflow_id": workflow,
                "handle_attempt": 1,
                "attempt": 1,
                "last_progress_at": START - timedelta(hours=1) if stalled else START,
                "last_heartbeat_at": START if kind in ("slow", "progressing") else START - timedelta(hours=1),
                "created_at": START - timedelta(hours=2),
                "updated_at": START,
                "version": 1,
            }
        )
    return rows, kinds


async def scenario(url: str, name: str, count: int, ticks: int) -> None:
    database = await open_database(url)
    store = database.tenants
    rows, kinds = tenant_rows(count, MIXES[name])
    async with database.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            await connection.execute(insert(TenantRow), rows[start : start + 5000])
    engine, slack = CountingEngine(kinds), CountingSlack()
    ids = {w: w.split("-")[1] for w in kinds}
    stepping = [ids[w] for w, k in kinds.items() if k == "progressing"]
    alive = [ids[w] for w, k in kinds.items() if k in ("progressing", "slow")]
    clock = [START]
    finder = WedgeFinder(store, engine, Limits())  # type: ignore[arg-type]
    sweeps, sweep = [], finder.sweep

    async def kept(now: datetime) -> Sweep:
        sweeps.append(await sweep(now))
        return sweeps[-1]

    finder.sweep = kept  # type: ignore[method-assign]
    scanner = Scanner(
        store, database.alerts, slack, finder, leases=database.leases, holder="bench", clock=lambda: clock[0]
    )
    print(f"\n{name}: {count:,} in flight, {dict(Counter(kinds.values()))}")
    print("tick  ms     closed  counts  listings  describes  reconcile  wedged  opened  slack")
    for tick in range(ticks):
        clock[0] = CountingEngine.now = START + timedelta(minutes=tick)
        async with database.engine.begin() as connection:  # the healthy runs keep stepping, the slow keep beating
            await connection.execute(
                update(TenantRow).where(TenantRow.id.in_(alive)).values(last_heartbeat_at=clock[0])
            )
            await connection.execute(
                update(TenantRow).where(TenantRow.id.in_(stepping)).values(last_progress_at=clock[0])
            )
        before_e, before_s = Counter(engine.calls), Counter(slack.calls)
        t0 = time.perf_counter()
        report = await scanner.tick()
        ms = (time.perf_counter() - t0) * 1000
        e, s = engine.calls - before_e, slack.calls - before_s
        print(
            f"{tick + 1:>4}  {ms:>5.0f}  {e['closed_since']:>6}  {e['count_running']:>6}  {e['run_statuses']:>8}  "
            f"{e['describe']:>9}  {'yes' if sweeps[-1].reconciled else '':>9}  "
            f"{report.wedged:>6}  {report.opened:>6}  {dict(s) or '-'}"
        )
    await database.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--in-flight", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=12)
    args = parser.parse_args()
    for name in MIXES:
        await scenario(f"sqlite:///{Path(tempfile.mkdtemp()) / 'scan.db'}", name, args.in_flight, args.ticks)


if __name__ == "__main__":
    asyncio.run(main())
