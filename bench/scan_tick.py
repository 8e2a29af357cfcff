"""One wedge-scan tick against a real Temporal dev server and PostgreSQL, beside the bare calls it makes.

    python -m bench.scan_tick [--tenants 1000000] [--runs 10000] [--in-flight SHARE] [--wedged 0.01] [--ticks 6]
                              [--reconcile-every 3] [--close 10] [--read-timeout SECONDS]

Seeds a world (bench/world.py): `--runs` open runs on the dev server, `--tenants` tenants on a fresh
PostgreSQL schema, `--in-flight` of them in flight (default: as many as there are runs, each naming
one; fewer runs than in-flight rows leaves the rest orphaned), `--wedged` of those wedged (no progress
for 6 h, run still open). Then builds the scan the way `serve` does (tenantbot.bootstrap.runtime,
given a notifier: default settings, READ_TIMEOUT 2 s unless `--read-timeout`; a
tick that hits it fails, as in serve, and is shown FAILED) with a notifier that only counts, wraps
the engine adapter, its Temporal client and the store to count and time their calls, and runs
`--ticks` ticks back to back. The first tick reconciles (every in-flight handle is counted), as does
every `--reconcile-every`-th after it (in serve: every 5 minutes); before every tick but the first,
`--close` healthy runs are terminated behind the bot's back, and the tick says how many of them it
found. Before each tick, one round of the bare calls (bench/floor.py) in the same run.

Prints per tick: its time, the sweep's, the two store reads, the engine calls by kind (port calls and
the RPCs under them), wedged/opened, the closures found, and the ratio of the tick and of its sweep to
the bare calls that tick made (the rest of a tick is the alerts' bookkeeping: lease, episodes, posts);
then the bare calls (with the old design's read and listing for reference) and the seeding times.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from bench import floor
from bench.meter import Meter
from bench.scan_cost import CountingSlack
from bench.seed import Population, workflow_id
from bench.world import TASK_QUEUE, World, seeded_world
from core.alerting.scanner import TickReport
from core.ports import EngineError, StoreError
from core.run_census import RECONCILE_EVERY
from core.wedged import Sweep, WedgeFinder
from tenantbot.bootstrap import runtime, unlinked
from tenantbot.settings import Settings

ENGINE_CALLS = ("closed_since", "count_running", "run_statuses", "describe")
RPCS = ("list_workflow_executions", "count_workflow_executions", "describe_workflow_execution")
STORE_CALLS = ("in_flight_refs", "in_flight")


@dataclass(frozen=True)
class Took:
    calls: Counter[str]
    spent: dict[str, float]

    def __call__(self, kind: str, counted: str = "") -> str:
        """ "ms (n)": the time spent in `kind` and the number of `counted` calls (default: `kind` itself)."""
        return f"{self.spent[kind]:.0f} ({self.calls[counted or kind]})"

    def each(self, kind: str) -> str:
        """ "ms (n)": the mean time of one `kind` call (they overlap: describes run 8 at a time)."""
        return f"{self.spent[kind] / max(1, self.calls[kind]):.0f} ({self.calls[kind]})"


async def terminate(world: World, workflow_ids: list[str]) -> None:
    """Terminate the runs behind the bot's back and wait until visibility lists them closed (about a second;
    in serve, ticks are a minute apart), so the tick that follows is the one expected to find them."""
    for w in workflow_ids:
        await world.client.get_workflow_handle(w).terminate("bench: behind the bot's back")
    names = ", ".join(f'"{w}"' for w in workflow_ids)
    while workflow_ids and (
        await world.client.count_workflows(f'WorkflowId IN ({names}) AND ExecutionStatus="Terminated"')
    ).count < len(workflow_ids):
        await asyncio.sleep(0.1)


def kept_sweeps(finder: WedgeFinder) -> list[Sweep]:
    """The finder's sweeps, as they come (the scanner reports only counts)."""
    sweeps: list[Sweep] = []
    sweep = finder.sweep

    async def keep(now: datetime) -> Sweep:
        sweeps.append(await sweep(now))
        return sweeps[-1]

    finder.sweep = keep  # type: ignore[method-assign]
    return sweeps


async def bench(world: World, ticks: int, read_timeout: float | None, reconcile_every: int, close: int) -> None:
    url, address = world.database_url, world.temporal_address
    settings = Settings(data_dir=world.data_dir, database_url=url, temporal_address=address)
    if read_timeout:
        settings = settings.model_copy(update={"read_timeout": timedelta(seconds=read_timeout)})
    in_flight = [workflow_id(t) for t in world.population.in_flight()]
    wedged = [(w, world.run_ids[w]) for w in map(workflow_id, world.population.of_kind("wedged")) if w in world.run_ids]
    healthy = [w for w in map(workflow_id, world.population.of_kind("in_flight")) if w in world.run_ids]
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
        for call in STORE_CALLS:
            meter.wrap(rt.database.tenants, call)
        finder = rt.finder  # the scanner's finder: wrapped on the instance, so its calls are counted
        meter.wrap(finder, "sweep")
        sweeps = kept_sweeps(finder)
        scanner = rt.scanner
        assert scanner is not None
        floors, rows, closed = [], [], 0
        print(
            f"\n{'tick':>5} {'ms':>6}  {'sweep':>6}  {'refs':>5}  {'rows (n)':>9}  {'closed ms':>9}  "
            f"{'counts ms (n)':>13}  {'IN ms (n)':>9}  {'describe ms (n)':>15}  {'wedged':>6}  {'opened':>6}  "
            f"{'found':>6}  {'x bare':>6}  {'sweep x':>7}"
        )
        for n in range(1, ticks + 1):
            floors.append(await floor.measure(world.client, db, TASK_QUEUE, in_flight, wedged, listing=n == 1))
            terminated = [] if n == 1 else healthy[closed : closed + close]
            await terminate(world, terminated)
            closed += len(terminated)
            reconciles = n > 1 and (n - 1) % reconcile_every == 0
            finder.census.reconcile_every = timedelta(0) if reconciles else RECONCILE_EVERY
            before, swept = meter.snapshot(), len(sweeps)
            started = time.perf_counter()
            try:
                report, failed = await scanner.tick(), ""
            except (StoreError, EngineError) as e:  # serve logs it and skips the tick (scheduler.scan_once)
                report, failed = TickReport(ran=False), f"  FAILED: {e}"
            ms = (time.perf_counter() - started) * 1000
            calls, spent = meter.since(before)
            sweep = sweeps[-1] if len(sweeps) > swept else None
            found = sum(
                1 for w in terminated if sweep and w.removeprefix("provision-").removesuffix("-1") in sweep.wedged
            )
            bare = floors[-1].for_tick(
                calls["closed_since rpc"], calls["count_running rpc"], calls["run_statuses rpc"], calls["describe"]
            )
            if not failed:
                rows.append((ms, spent["sweep"], bare, bool(sweep and sweep.reconciled)))

            took = Took(calls, spent)
            print(
                f"{n:>4}{'R' if sweep and sweep.reconciled else ' '} {ms:>6.0f}  {spent['sweep']:>6.0f}  "
                f"{spent['in_flight_refs']:>5.0f}  {took('in_flight'):>9}  {spent['closed_since']:>9.0f}  "
                f"{took('count_running', 'count_running rpc'):>13}  {took('run_statuses', 'run_statuses rpc'):>9}  "
                f"{took.each('describe'):>15}  {report.wedged:>6}  {report.opened:>6}  "
                f"{f'{found}/{len(terminated)}':>6}  {ms / bare:>6.2f}  {spent['sweep'] / bare:>6.2f}{failed}"
            )
        print_floor(floors)
        for label, reconciled in (("ticks", False), ("reconcile ticks", True)):
            ran = [r for r in rows if r[3] is reconciled]
            if ran:
                print(
                    f"{label} that ran: median {statistics.median(r[0] for r in ran):.0f} ms (sweep "
                    f"{statistics.median(r[1] for r in ran):.0f} ms), best {min(r[0] for r in ran):.0f} ms; median "
                    f"ratio to their bare calls {statistics.median(r[0] / r[2] for r in ran):.2f} (sweep "
                    f"{statistics.median(r[1] / r[2] for r in ran):.2f})"
                )
        print(f"READ_TIMEOUT {settings.read_timeout}; R: a reconcile tick")


def print_floor(floors: list[floor.Floor]) -> None:
    print("\nbare calls, each round before a tick (median / best ms):")
    for label, field in (
        (f"narrow SELECT of the in-flight rows ({floors[0].rows:,})", "refs_ms"),
        ("SELECT * of the suspects by id", "by_id_ms"),
        ("runs closed in the last minute", "closed_ms"),
        (f"count running among {floor.IN_BATCH} ids (mean of all)", "count_ms"),
        (f"WorkflowId IN ({floor.IN_BATCH} ids)", "in_ms"),
        (f"{floor.DESCRIBES} describes, {floor.DESCRIBE_CONCURRENCY} at a time", "describes_ms"),
        ("before: SELECT * of the in-flight rows", "select_ms"),
    ):
        values = [getattr(f, field) for f in floors]
        print(f"  {label:<46} {statistics.median(values):>7.0f} / {min(values):>5.0f}")
    if floors[0].list_ms is not None:
        print(f"  {f'before: list_workflows all running ({floors[0].listed:,})':<46} {floors[0].list_ms:>7.0f} (once)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--in-flight", type=float, help="share of tenants in flight (default: runs / tenants)")
    parser.add_argument("--wedged", type=float, default=0.01, help="share of in-flight tenants wedged")
    parser.add_argument("--ticks", type=int, default=6)
    parser.add_argument("--reconcile-every", type=int, default=3, help="every Nth tick reconciles (the first does)")
    parser.add_argument(
        "--close", type=int, default=10, help="healthy runs terminated before each tick after the first"
    )
    parser.add_argument("--read-timeout", type=float, help="READ_TIMEOUT in seconds (default: the app's, 2 s)")
    args = parser.parse_args()
    population = Population(args.tenants, args.in_flight or args.runs / args.tenants, args.wedged)
    async with seeded_world(population, runs=args.runs, history=False) as world:
        await bench(world, args.ticks, args.read_timeout, args.reconcile_every, args.close)


if __name__ == "__main__":
    asyncio.run(main())
