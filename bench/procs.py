"""The benchmarks' other processes: started with their own environment and log file, waited for
until they answer, measured from /proc (resident memory now and its peak), stopped by their pid."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    @classmethod
    async def start(cls, name: str, args: list[str], *, env: dict[str, str], workdir: Path) -> Child:
        log = workdir / f"{name}.log"
        full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *args, env=full_env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT
            )
        return cls(name, process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def until_answering(self, url: str, within: float = 90.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {url} within {within:g} s:\n{self.tail()}")

    async def until_listening(self, port: int, within: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            except OSError:
                if loop.time() > deadline or self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} is not listening on {port}:\n{self.tail()}") from None
                await asyncio.sleep(0.1)

    def memory_mb(self) -> tuple[float, float]:
        """(resident now, peak resident) in MB: VmRSS and VmHWM of /proc/<pid>/status."""
        return memory_mb(self.pid)

    async def stop(self, within: float = 20.0, sig: signal.Signals = signal.SIGTERM) -> int | None:
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), within)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode


def cpu_seconds(pids: list[int]) -> float:
    """CPU time so far of these processes and their children that ended (so PostgreSQL's backends that
    closed count, through the postmaster); processes gone count 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime (fields 14-17 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """PostgreSQL's processes on this machine (the server and its backends), to read their CPU time."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            if stat.read_text().strip() == "postgres":
                found.append(int(stat.parent.name))
        except OSError:
            continue
    return found


def memory_mb(pid: int | str = "self") -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)
