"""`tenantbot serve`, unchanged, with its scan ticks counted: run by bench.memory as its own process.

    python -m bench.ticking_serve TICKS

The scheduler calls `tenantbot.scheduler.scan_once` once per tick; this wraps it (on the module, so
the real `serve` picks the wrapper up) to print, as one JSON line per checkpoint, the tick number,
the tick's time and this process's VmRSS and VmHWM, and to stop serve (SIGTERM, its normal
shutdown) after TICKS ticks.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import tenantbot.scheduler
from bench.procs import memory_mb
from bot.metrics import Metrics
from core.alerting.scanner import Scanner, TickReport
from tenantbot.cli import main

CHECKPOINTS = (1, 10, 100, 200, 500, 1000, 2000, 5000)


def counting(ticks: int) -> None:
    real = tenantbot.scheduler.scan_once
    done = 0

    async def scan_once(scanner: Scanner, metrics: Metrics | None = None) -> TickReport | None:
        nonlocal done
        started = time.perf_counter()
        report = await real(scanner, metrics)
        done += 1
        if done in CHECKPOINTS or done == ticks:
            rss, hwm = memory_mb()
            ms = (time.perf_counter() - started) * 1000
            ran = report is not None and report.ran
            print(json.dumps({"tick": done, "ms": ms, "rss": rss, "hwm": hwm, "ran": ran}), flush=True)
        if done == ticks:
            os.kill(os.getpid(), signal.SIGTERM)
        return report

    tenantbot.scheduler.scan_once = scan_once


if __name__ == "__main__":
    counting(int(sys.argv[1]))
    sys.argv = ["tenantbot", "serve"]
    main()
