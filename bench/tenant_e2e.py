"""`/tenant` end to end against `tenantbot serve`, beside a bare Bolt app loaded the same way in the same run.

    python -m bench.tenant_e2e [--tenants 100000] [--concurrency 1 8 32 64] [--requests 300] [--rounds 2]
                               [--loops ack card] [--mix KIND=WEIGHT ...] [--alerts] [--engine-delay SECONDS]
                               [--profile DIR]

Seeds a world (bench/world.py: a fresh PostgreSQL schema in `test` on 127.0.0.1:5432, migrated by
`tenantbot db upgrade`, dropped at the end; 1% of the tenants in flight with open runs on a real
Temporal dev server, 1% of those wedged; allocations and audit events), then starts, each as its own
OS process: the Slack stand-in (bench/standin.py), `tenantbot serve` (HTTP; SLACK_API_URL at the
stand-in; DATA_DIR in the world's temp dir, so it reuses the world's embedded dev server; no
ALERT_CHANNEL unless `--alerts`, which scans every 60 s: the scan is benched by bench.scan_tick) and
the floor, bench/bare_bolt.py. A hung tenant is provisioned for real (`tenantbot provision --fault
hang@2`, run by serve's worker). What is asked for (`--mix`, weights): in_flight, wedged, active,
unknown ids, the hung tenant, and `help` (no read at all: the cost of Bolt and the answer alone) or
`stuck` (a whole sweep per request). `--engine-delay` puts bench/slow_link.py between serve and the engine
(TEMPORAL_ADDRESS): every engine answer arrives that much later, as from a distant or overloaded
cluster; past READ_TIMEOUT (2 s) the cards say the engine did not answer.

This process is only the load client (bench/load.py). For each concurrency and round it sends
`--requests` signed `/tenant <id>` to serve in the ack loop (next request once acked; the cards'
arrivals are recorded by the stand-in), then in the card loop (next request once its card arrived,
on response_urls served by this process), then to the bare app (ack loop).

Prints per concurrency: ack p50/p95/p99, requests/s and its ratio to the bare app's, time to card
p50/p95/p99 (request sent -> first POST on its response_url received) and cards/s, requests past
3 s, and serve's resident memory (VmRSS, peak VmHWM). `--profile DIR` runs py-spy on serve during the
load (non-blocking sampling) and prints where its CPU time goes. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import hotspots
from bench.e2e_report import Figures, print_cpu, print_memory, print_table
from bench.load import Request, run_batch
from bench.procs import PYTHON, Child, cpu_seconds, postgres_pids
from bench.seed import Population, tenant_id
from bench.standin import TimedStub, arrivals
from bench.world import SIGNING_SECRET, World, seeded_world
from core.adapters.dev_server_state import free_port

HUNG = "bench-hung-1"
MIX = ["in_flight=0.3", "wedged=0.05", "active=0.4", "unknown=0.15", "hung=0.1"]
KINDS = {"in_flight", "wedged", "active", "unknown", "hung", "help", "stuck"}
TARGETS = {"tenantbot": "serve", "bare Bolt": "bare"}


class Ids:
    """Random `/tenant` texts in the configured mix, each tagged with what it is."""

    def __init__(self, population: Population, mix: list[str], seed: int = 13) -> None:
        self.population, self.rng = population, random.Random(seed)
        self.in_flight, self.wedged = population.of_kind("in_flight"), population.of_kind("wedged")
        self.weights = {kind: float(weight) for kind, _, weight in (m.partition("=") for m in mix)}
        if unknown := set(self.weights) - KINDS:
            raise SystemExit(f"--mix: unknown kinds {sorted(unknown)}; use {sorted(KINDS)}")

    def pick(self) -> tuple[str, str]:
        kind = self.rng.choices(list(self.weights), list(self.weights.values()))[0]
        if kind in ("in_flight", "wedged"):
            return kind, self.rng.choice(self.in_flight if kind == "in_flight" else self.wedged)
        if kind == "unknown":
            return kind, f"nosuch-{self.rng.randrange(10**6)}"
        if kind in ("hung", "help", "stuck"):
            return kind, HUNG if kind == "hung" else kind
        while self.population.kind(i := self.rng.randrange(self.population.tenants)) != "active":
            pass
        return kind, tenant_id(i)

    def batch(self, prefix: str, count: int) -> list[Request]:
        return [Request(f"{prefix}{n}", text, kind) for n, (kind, text) in enumerate(self.pick() for _ in range(count))]


@dataclass
class Setup:
    children: dict[str, Child]
    standin: str  # base URL
    targets: dict[str, str]  # name -> events URL
    engine_pid: int


async def start_processes(world: World, args: argparse.Namespace, children: dict[str, Child]) -> Setup:
    """Start the stand-in, serve and the bare app into `children` (the caller stops them, whatever happens)."""
    port = {name: free_port() for name in ("standin", "serve", "bare", "link")}
    work, standin = world.data_dir, f"http://127.0.0.1:{port['standin']}"
    extra = {"ALERT_CHANNEL": "C0BENCH"} if args.alerts else {}
    if args.engine_delay:
        link = ["-m", "bench.slow_link", "--port", str(port["link"]), "--to", world.temporal_address]
        children["link"] = await Child.start(
            "link", [PYTHON, *link, "--delay", str(args.engine_delay)], env={}, workdir=work
        )
        await children["link"].until_listening(port["link"])
        extra["TEMPORAL_ADDRESS"] = f"127.0.0.1:{port['link']}"
    env = world.serve_env(f"{standin}/api/", port["serve"], **extra)
    bare = [
        "-m",
        "bench.bare_bolt",
        "--port",
        str(port["bare"]),
        "--secret",
        SIGNING_SECRET,
        "--api-url",
        f"{standin}/api/",
    ]
    commands = {
        "standin": (["-m", "bench.standin", "--port", str(port["standin"])], {}, f"{standin}/api/auth.test"),
        "serve": (["-m", "tenantbot", "serve"], env, f"http://127.0.0.1:{port['serve']}/healthz"),
        "bare": (bare, {}, f"http://127.0.0.1:{port['bare']}/healthz"),
    }
    for name, (command, child_env, ready) in commands.items():
        children[name] = await Child.start(name, [PYTHON, *command], env=child_env, workdir=work)
        await children[name].until_answering(ready)
    hung = await Child.start(
        "provision", [PYTHON, "-m", "tenantbot", "provision", HUNG, "--fault", "hang@2"], env=env, workdir=work
    )
    if await hung.process.wait() != 0:
        raise RuntimeError(f"could not provision the hung tenant:\n{hung.tail()}")
    targets = {name: f"http://127.0.0.1:{port[child]}/slack/events" for name, child in TARGETS.items()}
    return Setup(children, standin, targets, world.engine_pid)


def cpu_now(setup: Setup) -> dict[str, float]:
    """CPU seconds so far of each process taking part (the machine's other load is not counted)."""
    c = setup.children
    groups = {"serve": [c["serve"].pid], "engine": [setup.engine_pid], "postgres": postgres_pids()}
    groups |= {"bare": [c["bare"].pid], "stand-in": [c["standin"].pid], "client": [os.getpid()]}
    return {name: cpu_seconds(pids) for name, pids in groups.items()}


async def load(setup: Setup, ids: Ids, args: argparse.Namespace) -> list[Figures]:
    figures: list[Figures] = []
    on_standin, answers = f"{setup.standin}/response/", TimedStub()
    runs = [("tenantbot", loop) for loop in args.loops] + [("bare Bolt", "ack")]
    await answers.start()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for name, url in setup.targets.items():  # warm-up: connections, auth.test, first imports and caches
            await run_batch(session, url, SIGNING_SECRET, ids.batch(f"warm-{name}-", 60), 4, on_standin)
        await arrivals(session, setup.standin, "warm-", 60)
        profiler = await hotspots.record(setup.children["serve"], Path(args.profile)) if args.profile else None
        for concurrency in args.concurrency:
            measured = {run: Figures(run[0], concurrency, run[1]) for run in runs}
            for round_ in range(args.rounds):
                for target, loop in runs:  # alternating, so each sees the same machine
                    prefix = f"{target[:2]}{loop}-c{concurrency}-r{round_}-"
                    requests = ids.batch(prefix, args.requests)
                    card_loop = answers if loop == "card" else None
                    url, cpu = setup.targets[target], cpu_now(setup)
                    batch = await run_batch(session, url, SIGNING_SECRET, requests, concurrency, on_standin, card_loop)
                    acked = sum(1 for s in batch.sent if s.status == 200)
                    on_time = target == "tenantbot" and loop == "ack"
                    arrived = await arrivals(session, setup.standin, prefix, acked) if on_time else {}
                    measured[target, loop].add(batch, arrived, {k: v - cpu[k] for k, v in cpu_now(setup).items()})
            for figure in measured.values():
                figure.memory = setup.children["serve"].memory_mb()
            figures += measured.values()
            print(f"  concurrency {concurrency}: done", file=sys.stderr)
        if profiler is not None:
            await profiler.stop(sig=signal.SIGINT)
    await answers.stop()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--requests", type=int, default=300, help="per target, concurrency and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--loops", nargs="+", choices=["ack", "card"], default=["ack", "card"])
    parser.add_argument("--mix", nargs="+", default=MIX, metavar="KIND=WEIGHT")
    parser.add_argument("--alerts", action="store_true", help="set ALERT_CHANNEL: serve also scans every 60 s")
    parser.add_argument("--engine-delay", type=float, default=0.0, help="seconds added to every engine answer")
    parser.add_argument("--profile", metavar="DIR")
    args = parser.parse_args()
    if args.profile:
        hotspots.py_spy()
    async with seeded_world(Population(args.tenants), history=True) as world:
        children: dict[str, Child] = {}
        try:
            setup = await start_processes(world, args, children)
            before = setup.children["serve"].memory_mb()
            figures = await load(setup, Ids(world.population, args.mix), args)
            print_table(figures, args)
            print_cpu(figures)
            print_memory(before, setup.children)
            if args.profile:
                hotspots.report(Path(args.profile) / "serve.raw")
        finally:
            for child in children.values():
                await child.stop()


if __name__ == "__main__":
    asyncio.run(main())
