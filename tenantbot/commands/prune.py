"""`tenantbot prune [--dry-run]`: delete what is older than AUDIT_RETENTION now (`serve` does it daily).

It reads and writes the database only (no engine is started), under the scan's lease like `serve`'s
daily run, so it never prunes while a replica scans; a large backlog is deleted in slices a scan interval
apart, so a serving replica's scans go on meanwhile (core/retention.py).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Annotated

import typer

from core.durations import format_duration
from tenantbot.bootstrap import build_retention
from tenantbot.running import Failure, run, settings


def prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only count what would be deleted")] = False,
) -> None:
    """Delete audit events, request keys and resolved alerts older than AUDIT_RETENTION; every tenant not
    active or decommissioned keeps its last 50 events."""

    async def main() -> None:
        from core.persistence import open_database

        s = settings()
        database = await open_database(s.db_url)
        holder = f"{socket.gethostname()}:{os.getpid()}:prune"
        wait = s.scan_interval.total_seconds()

        async def between_slices() -> None:
            typer.echo(
                f"waiting {wait:g} s (SCAN_INTERVAL) for the scan's lease: a serving replica scans in between", err=True
            )
            await asyncio.sleep(wait)

        try:
            retention = build_retention(s, database.retention, database.leases, holder)
            report = await retention.count() if dry_run else await retention.prune(between_slices)
        finally:
            await database.close()
        if not report.ran:
            raise Failure("another replica held the scan's lease throughout; nothing was deleted, try again")
        said = "would delete" if dry_run else "deleted"
        typer.echo(f"{said} {report.summary()} (AUDIT_RETENTION {format_duration(s.audit_retention)})")
        if not report.done:
            raise Failure("the run was cut short (the scan's lease went to another replica); run it again")

    run(main)


def register(app: typer.Typer) -> None:
    app.command("prune")(prune)
