"""What tenantbot processes sharing one data directory know about its embedded Temporal server.

The directory holds the server's SQLite file, its log, `server.json` (the gRPC port, Web UI port and pid
of the server last started there) and `server.lock`. Whoever checks, starts or stops the server holds the lock
(fcntl.flock: released by the kernel when the holder dies), so two processes starting together never
start two servers on one database file. A recorded server counts as running only while its pid is a
`temporal` process with this directory's database on its command line, so a server someone else runs
on the recorded port is never mistaken for ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from core.ports import EngineError


@dataclass(frozen=True)
class Recorded:
    port: int
    pid: int
    ui_port: int | None = None  # its Web UI (None: a server recorded before the UI was started with it)

    @property
    def ui_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ui_port}" if self.ui_port else None


class ServerState:
    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()  # other processes must see the same path
        self.db = self.directory / "temporal.db"
        self.log = self.directory / "temporal.log"
        self._record = self.directory / "server.json"
        self._lock = self.directory / "server.lock"

    @contextlib.asynccontextmanager
    async def locked(self, timeout: float) -> AsyncIterator[None]:
        """Hold the directory's lock; polled without blocking, so the event loop keeps running."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise EngineError(
                            f"another process has held {self._lock} for {timeout:g} s (starting the dev server?)"
                        ) from None
                    await asyncio.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing the only descriptor releases the lock

    def recorded(self) -> Recorded | None:
        try:
            data = json.loads(self._record.read_text())
            ui_port = data.get("ui_port")
            return Recorded(int(data["port"]), int(data["pid"]), int(ui_port) if ui_port is not None else None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def record(self, port: int, pid: int, ui_port: int | None = None) -> None:
        partial = self._record.with_suffix(".tmp")
        partial.write_text(json.dumps({"port": port, "pid": pid, "ui_port": ui_port}))
        partial.replace(self._record)

    def running(self) -> Recorded | None:
        """The recorded server, if its process is still alive and serving this directory's database."""
        recorded = self.recorded()
        return recorded if recorded is not None and serves(recorded.pid, self.db) else None

    def port_for_start(self) -> int:
        """The recorded port when it is free (clients keep their address), else a fresh free port."""
        recorded = self.recorded()
        return recorded.port if recorded is not None and port_is_free(recorded.port) else free_port()

    def ui_port_for_start(self, grpc_port: int) -> int:
        """The recorded UI port when it is free (links already shown keep working), else a fresh free port."""
        wanted = (self.recorded() or Recorded(0, 0)).ui_port
        return wanted if wanted and wanted != grpc_port and port_is_free(wanted) else free_port(avoid=grpc_port)


def serves(pid: int, db: Path) -> bool:
    """Whether `pid` is a live dev server on `db` (Linux: its /proc command line; elsewhere: it exists)."""
    if Path("/proc/self").is_dir():
        try:
            return str(db).encode() in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def free_port(avoid: int | None = None) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != avoid:
            return port


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
