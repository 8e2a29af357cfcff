"""`tenantbot tenant|tenants|reset|retry|cancel|decommission`: the Slack card and buttons, in a terminal."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Annotated

import typer

from core.actions import DESTRUCTIVE, STEPS
from core.causes import cause_of, group
from core.decisions import Situation
from core.domain import Action
from core.results import Outcome, utcnow
from tenantbot.bootstrap import runtime
from tenantbot.console import render_causes, render_list, render_result, render_view
from tenantbot.operator import ACTOR_HELP, cli_actor, on_behalf_of
from tenantbot.running import EXIT_USAGE, Failure, run, settings, tenant_arg

SITUATIONS = {s.key: s for s in Situation}
# From Slack a Decommission takes two people (core/approvals.py); the command line is the break-glass path.
BREAK_GLASS: dict[str, object] = {"break_glass": True}
BREAK_GLASS_NOTE = (
    "Break-glass: it runs at once, without the second person's approval Slack asks for, and the audit feed "
    "records it as break-glass."
)


def show(tenant_id: Annotated[str, typer.Argument(help="tenant id, e.g. acme-42")]) -> None:
    """Show a tenant: state, timings, allocations, recent events, assessment and allowed actions."""
    tid = tenant_arg(tenant_id)

    async def main() -> None:
        async with runtime(settings(), worker=False, engine_required=False) as rt:
            typer.echo(render_view(await rt.service.view(tid), rt.links))

    run(main)


def list_tenants(
    situation: Annotated[str | None, typer.Option(help=f"only this situation: {', '.join(SITUATIONS)}")] = None,
    wedged: Annotated[bool, typer.Option("--wedged", help="only wedged tenants")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """List tenants with their situation and recommended action."""
    if situation is not None and situation not in SITUATIONS:
        typer.echo(f"error: unknown situation {situation!r}; one of: {', '.join(SITUATIONS)}", err=True)
        raise typer.Exit(EXIT_USAGE)

    wanted = SITUATIONS[situation] if situation is not None else None

    async def main() -> None:
        async with runtime(settings(), worker=False, engine_required=False) as rt:
            if wedged or (wanted is not None and wanted.wedged):
                # wedged tenants are the stale ones: look at every in-flight tenant, as the scan does
                found = await rt.finder.sweep(utcnow())
                picked = {t: cause_of(a) for t, a in found.wedged.items() if wanted is None or a.situation is wanted}
                groups = group(picked)  # common causes first
                ids = [t for g in groups for t in g.members]
                views = list(await asyncio.gather(*(rt.service.view(t) for t in ids[:limit])))
                typer.echo(render_causes(groups))
                if not groups:
                    return
            else:
                views = await rt.service.overview(limit)
        views = [v for v in views if wanted is None or v.assessment.situation is wanted]
        typer.echo(render_list(views))

    run(main)


def _action_command(action: Action) -> Callable[..., None]:
    def command(
        tenant_id: Annotated[str, typer.Argument(help="tenant id, e.g. acme-42")],
        yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
        actor: Annotated[str | None, typer.Option(help=ACTOR_HELP)] = None,
    ) -> None:
        tid = tenant_arg(tenant_id)
        details = on_behalf_of(actor) | (BREAK_GLASS if action is Action.DECOMMISSION else {})
        if action in DESTRUCTIVE and not yes:
            _confirm(action, tid)

        async def main() -> None:
            async with runtime(settings(), worker=False) as rt:
                result = await rt.service.act(action, tid, cli_actor(), details=details)
            typer.echo(render_result(result, rt.links))
            if result.outcome not in (Outcome.DONE, Outcome.DUPLICATE):
                raise Failure(result.message)

        run(main)

    command.__doc__ = f"{action.value.capitalize()} a tenant's provisioning. {STEPS[action].confirm}"
    if action is Action.DECOMMISSION:
        command.__doc__ += f" {BREAK_GLASS_NOTE}"
    return command


def _confirm(action: Action, tenant_id: str) -> None:
    if not sys.stdin.isatty():
        typer.echo(f"error: {action.value} needs confirmation; pass --yes to run it without a terminal", err=True)
        raise typer.Exit(EXIT_USAGE)
    typer.echo(STEPS[action].confirm)
    if action is Action.DECOMMISSION:
        typer.echo(BREAK_GLASS_NOTE)
    if not typer.confirm(f"{action.value.capitalize()} {tenant_id}?"):
        raise typer.Exit(EXIT_USAGE)


def register(app: typer.Typer) -> None:
    app.command("tenant")(show)
    app.command("tenants")(list_tenants)
    for action in Action:
        app.command(action.value)(_action_command(action))
