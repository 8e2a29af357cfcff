"""The `tenantbot` command: one Typer app whose sub-commands live in `tenantbot/commands/`.

This module only assembles the app. How a command runs (settings, exit codes, signals) is in
`tenantbot.running`, which the commands import; nothing imports this module but the entry point, so
there is no cycle to hide behind function-local imports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

import typer

from tenantbot.commands import batch, db, engine, freeze, history, prune, serve, tenants

app = typer.Typer(
    name="tenantbot",
    help="See and recover stuck tenant provisioning (Slack bot, scheduler, worker and console).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def main() -> None:
    for module in (tenants, history, freeze, batch, engine, serve, prune, db):
        module.register(app)
    try:
        app(prog_name="tenantbot")
    except SystemExit as e:
        leave(e.code)
    leave(0)


def leave(code: object) -> None:
    """Exit without the interpreter's teardown, once every command has finished and closed what it opened.

    temporalio's Rust core keeps native threads that can call into Python while CPython finalizes, which
    aborts the process (SIGABRT, "PyGILState_Release: thread state … must be current"; temporalio/sdk-python
    issue 300): a clean stop would then exit -6 now and then. So output and logs are flushed here and the
    process ends at once with its exit code."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken pipe: nothing more to say
            stream.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
