"""How every `tenantbot` command runs: settings read once, one async main, expected failures as one line.

A command turns the errors an operator can cause or meet (bad input, bad settings, a database or
engine that is down) into `Failure`: one clear line on stderr and a non-zero exit code, never a
traceback. SIGINT and SIGTERM stop any command the same way (`run`, `until_stopped`). The commands in
`tenantbot/commands/` import this module; `tenantbot.cli` only assembles them into the Typer app.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from contextvars import ContextVar
from typing import NoReturn, TypeVar

import typer

from core.domain import InvalidTenantId, parse_tenant_id
from core.ports import EngineError, StoreError
from core.redaction import redact
from core.request_ids import request_scope
from core.results import TenantNotFound
from tenantbot.logs import configure_logging
from tenantbot.settings import Settings, SettingsError, load_settings

T = TypeVar("T")
EXIT_ERROR, EXIT_USAGE = 1, 2


class Failure(Exception):
    """An expected failure with a message for the operator and an exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def tenant_arg(raw: str) -> str:
    """A tenant id from the command line, or one line on stderr and exit 2."""
    try:
        return parse_tenant_id(raw)
    except InvalidTenantId as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def settings() -> Settings:
    try:
        loaded = load_settings()
    except SettingsError as e:
        raise Failure(str(e), EXIT_USAGE) from None
    redact.register(*loaded.secrets())
    redact.register_url(loaded.db_url)
    redact.register_url(f"//{loaded.temporal_address}" if loaded.temporal_address else None)  # user:pw@host
    configure_logging(loaded.log_level, loaded.log_format)
    return loaded


def run(main: Callable[[], Awaitable[T]], *, long_running: bool = False) -> T:
    """Run one async command; print expected failures as one line on stderr and exit non-zero.

    A short command is one request: one request id for its log lines, its audit events and its engine
    calls (core/request_ids.py). A long-running one (serve, worker, demo) is not: each Slack request and
    scan tick in it gets its own.

    SIGINT and SIGTERM stop any command the same way: a command waiting in `until_stopped()` returns
    from it and shuts down in order (exit 0); any other is cancelled, so its async context managers
    still unwind (the embedded dev server is stopped) before it exits 130 or 143.

    A long-running command, once it has shut down in order, ends the process without the interpreter's
    teardown (`leave`): it ran an engine worker, whose native threads can call into Python while CPython
    finalizes and crash a clean stop (SIGABRT or SIGSEGV now and then; temporalio/sdk-python issue 300).
    """
    if not long_running:
        return _run(main, request_scope())
    try:
        _run(main, nullcontext())
    except typer.Exit as e:
        leave(e.exit_code)
    leave(0)


def _run(main: Callable[[], Awaitable[T]], scope: AbstractContextManager[object]) -> T:
    try:
        with scope:
            return asyncio.run(_stoppable(main))
    except Failure as e:
        typer.echo(f"error: {redact(str(e))}", err=True)
        raise typer.Exit(e.code) from None
    except _Interrupted as e:
        typer.echo(f"stopped by {e.signal.name}", err=True)
        raise typer.Exit(128 + e.signal) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def leave(code: int) -> NoReturn:
    """End the process now with `code`, after flushing logs and output: everything the command opened is
    closed by then, so only the interpreter's own teardown is skipped."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed or broken pipe: nothing more to say
            stream.flush()
    os._exit(code)


async def until_stopped() -> None:
    """Wait for SIGINT or SIGTERM (long-running commands), then return so the caller shuts down in order."""
    stop = _stop.get()
    stop.waiting += 1
    try:
        await stop.requested.wait()
    finally:
        stop.waiting -= 1


class _Interrupted(Exception):
    def __init__(self, sig: signal.Signals) -> None:
        self.signal = sig


class _StopRequest:
    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task, self.waiting, self.requested = task, 0, asyncio.Event()
        self.signal: signal.Signals | None = None

    def __call__(self, sig: signal.Signals) -> None:
        if self.signal is None and self.waiting:
            self.requested.set()
        else:
            self.task.cancel()  # not waiting to stop, or a second signal while shutting down
        self.signal = self.signal or sig


_stop: ContextVar[_StopRequest] = ContextVar("stop")


async def _stoppable(main: Callable[[], Awaitable[T]]) -> T:
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    stop = _StopRequest(task)
    _stop.set(stop)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    try:
        return await _guarded(main)
    except asyncio.CancelledError:
        if stop.signal is None:
            raise
        task.uncancel()
        raise _Interrupted(stop.signal) from None
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _guarded(main: Callable[[], Awaitable[T]]) -> T:
    try:
        return await main()
    except InvalidTenantId as e:
        raise Failure(str(e), EXIT_USAGE) from None
    except TenantNotFound as e:
        raise Failure(str(e)) from None
    except StoreError as e:
        raise Failure(f"database unavailable: {e}") from None
    except EngineError as e:
        raise Failure(f"workflow engine unavailable: {e}") from None
