"""Helpers for tests that run the real `tenantbot` command as a child process and look for the dev
servers it leaves behind — anywhere on the machine, also re-parented to PID 1, not only children —
and a dev server of a test's own, which it can kill and start again."""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from core.adapters.dev_server_process import spawn, until_answering
from core.adapters.dev_server_process import stop as stop_server
from core.adapters.dev_server_state import free_port
from core.adapters.temporal_server import find_binary


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run on its own DATA_DIR: the embedded engine, short saga steps."""
    env = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "TEMPORAL_DEV_PORT", "DATABASE_URL")}
    return {**env, "DATA_DIR": str(data_dir), "STEP_TIME": "0.1s", **extra}


def start(*args: str, env: dict[str, str], **popen: object) -> subprocess.Popen[bytes]:
    defaults: dict[str, object] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.Popen([sys.executable, "-m", "tenantbot", *args], env=env, **{**defaults, **popen})  # type: ignore[call-overload]


def wait_for_output(process: subprocess.Popen[bytes], text: str, timeout: float = 60) -> str:
    """Read the child's stdout until `text` shows up; fail with what it said if it exits or takes too long."""
    assert process.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([process.stdout], [], [], max(left, 0))
        chunk = os.read(process.stdout.fileno(), 4096) if ready else b""
        if not chunk:
            process.kill()
            _, err = process.communicate()
            raise AssertionError(f"no {text!r} (exit {process.returncode}): {seen.decode()} {err.decode()}")
        seen += chunk
    return seen.decode()


def servers_using(db: Path) -> list[int]:
    """Pids of every `temporal server start-dev` whose command line names `db`, whoever its parent is."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"start-dev" in args and str(db).encode() in args:
            pids.append(int(entry.name))
    return pids


def parent_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate()


@dataclass
class DevServer:
    """A Temporal dev server of the test's own, so the test can kill exactly it (by its process id) and
    start it again on the same port and state file, as an engine that crashes and comes back would."""

    state: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> DevServer:
        self.state.mkdir(parents=True, exist_ok=True)
        db, log = self.state / "temporal.db", self.state / "log"
        process = self.process = await spawn(find_binary(), port=self.port, db=db, namespace="default", log=log)
        assert await until_answering(self.address, "default", 30, lambda: process.returncode is None)
        return self

    async def kill(self) -> None:
        """SIGKILL: the engine is gone at once, without a word to its clients."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None:
            await stop_server(self.process)


@asynccontextmanager
async def own_dev_server(state: Path) -> AsyncIterator[DevServer]:
    server = await DevServer(state).start()
    try:
        yield server
    finally:
        await server.stop()
