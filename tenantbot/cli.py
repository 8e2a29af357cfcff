"""The `tenantbot` command: one Typer app whose sub-commands live in `tenantbot/commands/`.

This module only assembles the app. How a command runs (settings, exit codes, signals) is in
`tenantbot.running`, which the commands import; nothing imports this module but the entry point, so
there is no cycle to hide behind function-local imports.
"""

from __future__ import annotations

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
    app(prog_name="tenantbot")
