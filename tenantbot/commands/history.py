"""`tenantbot history <id>`: a tenant's whole audit feed in a terminal, newest first, or as JSON lines.

It reads the database only (no engine is started), a page at a time, so exporting a long feed takes
little memory: `tenantbot history acme-42 --json > acme-42.jsonl`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from core.bounded import BoundedStore
from core.domain import FeedPosition
from core.history import AuditHistory
from tenantbot.console import event_json, render_event
from tenantbot.running import EXIT_USAGE, run, settings, tenant_arg

TIME_HELP = "only events before this time: ISO 8601, UTC unless it says otherwise, e.g. 2026-11-30T12:00:00Z"


def before_arg(raw: str | None) -> FeedPosition | None:
    """The feed position just before `raw` (every event strictly older), or one line on stderr and exit 2."""
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        typer.echo(f"error: --before: {shown!r} is not a time; use ISO 8601, e.g. 2026-11-30T12:00:00Z", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    return FeedPosition(moment if moment.tzinfo else moment.replace(tzinfo=UTC), 0)  # ids start at 1


def history(
    tenant_id: Annotated[str, typer.Argument(help="tenant id, e.g. acme-42")],
    limit: Annotated[int | None, typer.Option(min=1, help="at most this many events (default: all)")] = None,
    before: Annotated[str | None, typer.Option(help=TIME_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line, for export")] = False,
) -> None:
    """Show a tenant's audit events, newest first: time, event, actor and details."""
    tid, edge = tenant_arg(tenant_id), before_arg(before)

    async def main() -> None:
        from core.persistence import open_database

        s = settings()
        database = await open_database(s.db_url)
        history = AuditHistory(BoundedStore(database.tenants, s.read_timeout))  # each read within READ_TIMEOUT
        shown = 0
        try:
            async for event in history.feed(tid, before=edge, limit=limit):
                typer.echo(event_json(event) if as_json else render_event(event))
                shown += 1
        finally:
            await database.close()
        if not shown and not as_json:
            typer.echo(f"no events for {tid}" + (f" before {edge.at.isoformat()}" if edge else ""))

    run(main)


def register(app: typer.Typer) -> None:
    app.command("history")(history)
