"""`tenantbot db upgrade`: apply the database migrations (also done automatically at every start)."""

from __future__ import annotations

import typer

from tenantbot.running import run, settings

db = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@db.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    from core.persistence import open_database

    async def main() -> None:
        url = settings().db_url
        database = await open_database(url)
        await database.close()
        typer.echo(f"database at {url} is up to date")

    run(main)


def register(app: typer.Typer) -> None:
    app.add_typer(db, name="db")
