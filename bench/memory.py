"""Resident memory of `tenantbot serve` across many scan ticks against a seeded world.

    python -m bench.memory [--tenants 100000] [--runs N] [--ticks 1000] [--interval 0.05]

Seeds a world as bench.tenant_e2e does (1% in flight with open runs, 1% of those wedged), starts the
Slack stand-in and `serve` (HTTP, ALERT_CHANNEL set, SCAN_INTERVAL `--interval`, STUCK_AFTER 1h so
the healthy rows stay healthy through a long run while the wedged ones are 6 h old) through
bench/ticking_serve.py, which counts the ticks. This process samples serve's VmRSS every 0.5 s from
/proc. Prints, at ticks 1, 10, 100, 500 and 1000 (and the last): the tick's time, VmRSS and VmHWM,
then the peak. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.procs import PYTHON, Child
from bench.seed import Population
from bench.world import seeded_world
from core.adapters.dev_server_state import free_port


async def sample(serve: Child) -> float:
    """Serve's peak VmRSS, read every 0.5 s until it exits."""
    peak = 0.0
    while serve.process.returncode is None:
        try:
            peak = max(peak, serve.memory_mb()[0])
        except OSError:
            break  # exited between the check and the read
        await asyncio.sleep(0.5)
    await serve.process.wait()
    return peak


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--runs", type=int, help="open runs (default: one per in-flight tenant)")
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--interval", default="0.05", help="SCAN_INTERVAL, seconds")
    args = parser.parse_args()
    async with seeded_world(Population(args.tenants), runs=args.runs, history=True) as world:
        ports = {"standin": free_port(), "serve": free_port()}
        api = f"http://127.0.0.1:{ports['standin']}/api/"
        env = world.serve_env(
            api, ports["serve"], ALERT_CHANNEL="C0BENCH", SCAN_INTERVAL=args.interval, STUCK_AFTER="1h"
        )
        standin = await Child.start(
            "standin", [PYTHON, "-m", "bench.standin", "--port", str(ports["standin"])], env={}, workdir=world.data_dir
        )
        try:
            await standin.until_answering(f"{api}auth.test")
            command = [PYTHON, "-m", "bench.ticking_serve", str(args.ticks)]
            serve = await Child.start("serve", command, env=env, workdir=world.data_dir)
            try:
                peak = await sample(serve)
            finally:
                await serve.stop()
        finally:
            await standin.stop()
        print(f"\n`serve` over {args.ticks} scan ticks every {args.interval} s, {args.tenants:,} tenants")
        print(f"{'tick':>6}  {'tick ms':>8}  {'VmRSS MB':>8}  {'VmHWM MB':>8}")
        for line in serve.log.read_text().splitlines():
            if line.startswith("{"):
                mark = json.loads(line)
                ran = "" if mark["ran"] else "  (did not run)"
                print(f"{mark['tick']:>6}  {mark['ms']:>8.0f}  {mark['rss']:>8.0f}  {mark['hwm']:>8.0f}{ran}")
        print(f"peak VmRSS sampled from outside: {peak:.0f} MB; serve exited with {serve.process.returncode}")


if __name__ == "__main__":
    asyncio.run(main())
