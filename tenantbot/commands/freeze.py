"""`tenantbot freeze --reason TEXT` and `tenantbot unfreeze`: the read-only switch from a terminal.

While tenantbot is frozen every action is refused, from Slack, alerts and the command line alike
(core/freeze.py). The command line always may flip the switch (whoever runs it holds the database); the
actor recorded is `cli:<os user>`. Both open the database only (no engine is started), so they work while
the engine is down, and each read or write is bounded by READ_TIMEOUT; every replica sees the switch at
its next action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from core.freeze import InvalidReason, Switch, SwitchResult, parse_reason
from tenantbot.bootstrap import read_only_switch
from tenantbot.console import render_switch
from tenantbot.operator import cli_actor
from tenantbot.running import EXIT_USAGE, run, settings


def flip(change: Callable[[Switch, str], Awaitable[SwitchResult]]) -> None:
    """Open the database, flip the switch as `cli:<os user>`, say what it did."""

    async def main() -> None:
        from core.persistence import open_database

        s = settings()
        database = await open_database(s.db_url)
        try:
            result = await change(read_only_switch(s, database.freezes), cli_actor())
        finally:
            await database.close()
        typer.echo(render_switch(result))

    run(main)


def freeze(
    reason: Annotated[str, typer.Option("--reason", help="why, for everyone who is refused (up to 500 characters)")],
) -> None:
    """Refuse every action (Slack buttons, alerts, the command line) until `tenantbot unfreeze`."""
    try:
        why = parse_reason(reason)
    except InvalidReason as e:
        typer.echo(f"error: --reason: {e}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    flip(lambda switch, actor: switch.freeze(actor, why))


def unfreeze() -> None:
    """Lift the freeze: actions run again."""
    flip(lambda switch, actor: switch.unfreeze(actor))


def register(app: typer.Typer) -> None:
    app.command("freeze")(freeze)
    app.command("unfreeze")(unfreeze)
