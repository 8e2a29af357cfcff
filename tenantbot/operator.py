"""Who runs a command: the operating-system user, recorded as the actor of every action from the command line.

The audit feed must say who really acted, so `--actor NAME` never replaces the OS user: it is recorded beside
it, in the events' details, as the person the operator acted on behalf of (e.g. the on-call who asked in a
call). NAME is checked before anything runs: a short handle, an email or a Slack user id, nothing that could
pass for another actor or disturb a terminal that shows the feed.
"""

from __future__ import annotations

import getpass
import os
import re

import typer

from tenantbot.running import EXIT_USAGE

ON_BEHALF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
ACTOR_HELP = "on whose behalf you act (recorded beside your OS user, never instead): a name, email or Slack id"


def cli_actor() -> str:
    """`cli:<os user>`; the numeric uid when the system has no name for it (a container's bare uid)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"cli:{user}"


def on_behalf_of(name: str | None) -> dict[str, object]:
    """The details recording `--actor NAME` (none without it), or one line on stderr and exit 2."""
    if name is None:
        return {}
    if not ON_BEHALF.fullmatch(name):
        typer.echo(
            f"error: --actor {name!r}: use 1-64 letters, digits or . _ @ + - (a name, an email or a Slack id)",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    return {"on_behalf_of": name}
