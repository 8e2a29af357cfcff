"""One `temporal server start-dev` child process: start it, wait until it answers, stop it.

The child runs in its own session, so a Ctrl-C at the terminal reaches tenantbot alone and tenantbot
stops the server in order; and on Linux it gets SIGTERM from the kernel when tenantbot dies, even by
SIGKILL (prctl PR_SET_PDEATHSIG), so a killed tenantbot never leaves a server behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from core.ports import EngineError

PR_SET_PDEATHSIG = 1  # linux/prctl.h


async def answers(address: str, namespace: str = "default", timeout: float = 1.0) -> bool:
    """Whether a Temporal frontend answers at `address`."""
    try:
        client = await asyncio.wait_for(Client.connect(address, namespace=namespace), timeout)
        await asyncio.wait_for(client.workflow_service.get_system_info(GetSystemInfoRequest()), timeout)
    except Exception:
        return False
    return True


async def spawn(
    binary: Path, *, port: int, db: Path, namespace: str, log: Path, ui_port: int | None = None
) -> asyncio.subprocess.Process:
    """The server on `port` with its Web UI on `ui_port` (None: no UI), both on 127.0.0.1; the UI's news
    feed is off (it would reach out to the internet)."""
    command = [str(binary), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    command += ["--headless"] if ui_port is None else ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    command += ["--db-filename", str(db), "--namespace", namespace, "--log-level", "warn"]
    try:
        with log.open("ab") as out:
            return await asyncio.create_subprocess_exec(
                *command, stdout=out, stderr=out, start_new_session=True, preexec_fn=die_with_parent()
            )
    except OSError as e:
        raise EngineError(f"could not run the dev server ({binary}): {e.strerror or e}") from None


async def until_answering(address: str, namespace: str, limit: float, alive: Callable[[], bool]) -> bool:
    """True once a server answers at `address`; False as soon as `alive()` says it is gone; EngineError
    if it does neither within `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not alive():
            return False
        if await answers(address, namespace, timeout=0.5):
            return True
        await asyncio.sleep(0.1)
    raise EngineError(f"the Temporal dev server did not answer on {address} within {limit:g} s")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


def last_line(log: Path) -> str:
    """The server's last words, for an error message."""
    try:
        lines = log.read_text(errors="replace")[-4000:].strip().splitlines()
    except OSError:
        lines = []
    return f"{lines[-1].strip() if lines else 'no output'} (see {log})"


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGTERM when this process dies (Linux); None elsewhere.
    The check after prctl covers a parent that died between fork and prctl."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:
            os._exit(1)

    return preexec
