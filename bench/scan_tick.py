"""One wedge-scan tick against a real Temporal dev server and PostgreSQL, beside the bare calls it makes.

    python -m bench.scan_tick [--tenants 1000000] [--runs 10000] [--in-flight SHARE] [--wedged 0.01] [--ticks 6]
                              [--read-timeout SECONDS]

Seeds a world (bench/world.py): `--runs` open runs on the dev server, `--tenants` tenants on a fresh
PostgreSQL schema, `--in-flight` of them in flight (default: as many as there are runs, each naming
one; fewer runs than in-flight rows leaves the rest orphaned), `--wedged` of those wedged (no progress
for 6 h, run still open). Then builds the scan the way `serve` does (tenantbot.bootstrap.runtime,
given a notifier: default settings, READ_TIMEOUT 2 s unless `--read-timeout`; a
tick that hits it fails, as in serve, and is shown FAILED) with a notifier that only counts, wraps
the engine adapter, its Temporal client and the store to count and time their calls, and runs
`--ticks` ticks; before each, one round of the bare calls (bench/floor.py) in the same run.

Prints per tick: its time, the sweep's, the store's in-flight query, the engine calls by kind (port
calls and the RPCs under them), wedged/opened, and the ratio to the bare calls that tick made; then
the bare calls and the seeding times. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import timedelta

import psycopg

from bench import floor
from bench.meter import Meter
from bench.scan_cost import CountingSlack
from bench.seed import Population, workflow_id
from bench.world import TASK_QUEUE, World, seeded_world
from core.alerting.scanner import TickReport
from core.ports import EngineError, StoreError
from tenantbot.bootstrap import runtime, unlinked
from tenantbot.settings import Settings

ENGINE_CALLS = ("list_running", "run_statuses", "describe")
RPCS = ("list_workflow_executions", "describe_workflow_execution")


async def bench(world: World, ticks: int, read_timeout: float | None) -> None:
    url, address = world.database_url, world.temporal_address
    settings = Settings(data_dir=world.data_dir, database_url=url, temporal_address=address)
    if read_timeout:
        settings = settings.model_copy(update={"read_timeout": timedelta(seconds=read_timeout)})
    in_flight = [workflow_id(t) for t in world.population.in_flight()]
    wedged = [(w, world.run_ids[w]) for w in map(workflow_id, world.population.of_kind("wedged")) if w in world.run_ids]
    slack = CountingSlack()
    async with (
        runtime(settings, worker=False, notifier=unlinked(slack)) as rt,
        await psycopg.AsyncConnection.connect(world.database_url) as db,
    ):
        meter = Meter()
        for call in ENGINE_CALLS:
            meter.wrap(rt.engine, call)
        client = rt.engine.client  # type: ignore[attr-defined]
        for rpc in RPCS:
            meter.wrap(client.workflow_service, rpc, inner=True)
        meter.wrap(rt.database.tenants, "in_flight")
        meter.wrap(rt.finder, "sweep")  # the scanner's finder: wrapped on the instance, so its calls are counted
        scanner = rt.scanner
        assert scanner is not None
        floors, rows = [], []
        print(
            f"\n{'tick':>4}  {'ms':>6}  {'sweep':>6}  {'query':>6}  {'listing ms (pages)':>18}  "
            f"{'IN calls':>8}  {'describes ms (n)':>16}  {'wedged':>6}  {'opened':>6}  {'slack':>5}  {'x bare':>6}"
        )
        for n in range(1, ticks + 1):
            floors.append(await floor.measure(world.client, db, TASK_QUEUE, in_flight, wedged))
            before, posted = meter.snapshot(), sum(slack.calls.values())
            started = time.perf_counter()
            try:
                report, failed = await scanner.tick(), ""
            except (StoreError, EngineError) as e:  # serve logs it and skips the tick (scheduler.scan_once)
                report, failed = TickReport(ran=False), f"  FAILED: {e}"
            ms = (time.perf_counter() - started) * 1000
            calls, spent = meter.since(before)
            bare = floors[-1].for_tick(calls["run_statuses rpc"], calls["describe"])
            if not failed:
                rows.append((ms, bare))
            listing = f"{spent['list_running']:.0f} ({calls['list_running rpc']})"
            describes = f"{spent['describe'] / max(1, calls['describe']):.0f} ({calls['describe']})"
            print(
                f"{n:>4}  {ms:>6.0f}  {spent['sweep']:>6.0f}  {spent['in_flight']:>6.0f}  {listing:>18}  "
                f"{calls['run_statuses rpc']:>8}  {describes:>16}  {report.wedged:>6}  {report.opened:>6}  "
                f"{sum(slack.calls.values()) - posted:>5}  {ms / bare:>6.2f}{failed}"
            )
        print_floor(floors)
        if rows:
            print(
                f"\ntick (those that ran): median {statistics.median(r[0] for r in rows):.0f} ms, "
                f"best {min(r[0] for r in rows):.0f} ms; median ratio to its bare calls "
                f"{statistics.median(r[0] / r[1] for r in rows):.2f}; READ_TIMEOUT {settings.read_timeout}"
            )


def print_floor(floors: list[floor.Floor]) -> None:
    print("\nbare calls, each round before a tick (median / best ms):")
    for label, field in (
        (f"SELECT in-flight rows ({floors[0].rows:,})", "select_ms"),
        (f"list_workflows all running ({floors[0].listed:,})", "list_ms"),
        (f"WorkflowId IN ({floor.IN_BATCH} ids)", "in_ms"),
        (f"{floor.DESCRIBES} describes, {floor.DESCRIBE_CONCURRENCY} at a time", "describes_ms"),
    ):
        values = [getattr(f, field) for f in floors]
        print(f"  {label:<42} {statistics.median(values):>7.0f} / {min(values):>5.0f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--in-flight", type=float, help="share of tenants in flight (default: runs / tenants)")
    parser.add_argument("--wedged", type=float, default=0.01, help="share of in-flight tenants wedged")
    parser.add_argument("--ticks", type=int, default=6)
    parser.add_argument("--read-timeout", type=float, help="READ_TIMEOUT in seconds (default: the app's, 2 s)")
    args = parser.parse_args()
    population = Population(args.tenants, args.in_flight or args.runs / args.tenants, args.wedged)
    async with seeded_world(population, runs=args.runs, history=False) as world:
        await bench(world, args.ticks, args.read_timeout)


if __name__ == "__main__":
    asyncio.run(main())
