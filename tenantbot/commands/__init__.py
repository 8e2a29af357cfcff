"""Sub-commands of `tenantbot`, each module with a `register(app)` (the bolt starter template's layout)."""

from __future__ import annotations

import typer


def register_all(app: typer.Typer) -> None:
    from tenantbot.commands import db, engine, history, prune, serve, tenants

    for module in (tenants, history, engine, serve, prune, db):
        module.register(app)
