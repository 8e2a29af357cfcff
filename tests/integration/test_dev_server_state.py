"""What processes sharing a data directory know about its dev server: the lock, the record, and when a
recorded server counts as running (real processes, real files; no Temporal needed)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.adapters.dev_server_state import ServerState
from core.ports import EngineError


def started(argument: Path) -> subprocess.Popen[bytes]:
    """A process with `argument` on its command line (once it has exec'd), like a dev server on that file."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(argument)])
    deadline = time.monotonic() + 10
    while str(argument).encode() not in Path(f"/proc/{process.pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return process


def test_a_recorded_server_counts_as_running_only_while_its_pid_serves_this_directorys_file(tmp_path: Path) -> None:
    state = ServerState(tmp_path / "temporal")
    state.directory.mkdir()
    stand_in = started(state.db)
    try:
        state.record(7999, stand_in.pid)
        assert state.running() is not None and state.running() == state.recorded()
        other = started(tmp_path / "other.db")
        state.record(7999, other.pid)
        assert state.running() is None  # alive, but not a server on this file: the pid was reused
        other.kill()
        other.wait()
    finally:
        stand_in.kill()
        stand_in.wait()
    state.record(7999, stand_in.pid)
    assert state.running() is None  # gone


def test_a_missing_or_damaged_record_means_no_server(tmp_path: Path) -> None:
    state = ServerState(tmp_path)
    assert state.recorded() is None
    (tmp_path / "server.json").write_text('{"port": "x"')
    assert state.recorded() is None and state.running() is None


def test_the_recorded_port_is_used_again_only_while_it_is_free(tmp_path: Path) -> None:
    state = ServerState(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        state.record(port, 1)
        assert state.port_for_start() != port
    assert state.port_for_start() == port


async def test_the_lock_admits_one_holder_at_a_time(tmp_path: Path) -> None:
    state = ServerState(tmp_path)
    async with state.locked(1):
        with pytest.raises(EngineError, match=r"server\.lock"):
            async with ServerState(tmp_path).locked(0.2):
                pass
    async with ServerState(tmp_path).locked(0.2):
        pass


async def test_a_lock_held_by_a_killed_process_is_free_again(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(tmp_path / "server.lock"),
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    with pytest.raises(EngineError):
        async with ServerState(tmp_path).locked(0.2):
            pass
    holder.kill()
    holder.wait()
    async with ServerState(tmp_path).locked(1):
        pass


def test_the_ui_port_is_recorded_beside_the_grpc_port_and_an_older_record_has_none(tmp_path: Path) -> None:
    state = ServerState(tmp_path)
    state.record(7233, 42, 8999)
    recorded = state.recorded()
    assert recorded is not None and (recorded.port, recorded.ui_port) == (7233, 8999)
    assert recorded.ui_url == "http://127.0.0.1:8999"
    (tmp_path / "server.json").write_text('{"port": 7233, "pid": 42}')  # written before the UI was started
    recorded = state.recorded()
    assert recorded is not None and recorded.ui_port is None and recorded.ui_url is None


def test_the_recorded_ui_port_is_used_again_only_while_it_is_free_and_never_the_grpc_port(tmp_path: Path) -> None:
    state = ServerState(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        state.record(7233, 1, port)
        assert state.ui_port_for_start(7233) != port
    assert state.ui_port_for_start(7233) == port
    assert state.ui_port_for_start(port) != port  # the gRPC port went there meanwhile
