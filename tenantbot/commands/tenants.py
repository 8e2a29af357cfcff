"""`tenantbot tenant|tenants|reset|retry|cancel|decommission`: the Slack card and buttons, in a terminal.

Reset, Cancel and Decommission need a reason, as in Slack (core/previews.py): `--reason TEXT`, or asked
on the terminal after what the action does; without a terminal and without `--reason` they stop with
one line and exit 2. The reason is recorded with `<action>_started` and given to Temporal as the
terminate or cancel reason."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Annotated, NoReturn

import typer

from core.actions import DESTRUCTIVE, STEPS
from core.causes import cause_of, group
from core.decisions import Situation
from core.domain import Action
from core.freeze import InvalidReason
from core.previews import EFFECTS, PREVIEWED, parse_action_reason
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
        reason: Annotated[
            str | None, typer.Option(help="why (audit feed and Temporal); asked on a terminal when not given")
        ] = None,
    ) -> None:
        tid = tenant_arg(tenant_id)
        details = on_behalf_of(actor) | (BREAK_GLASS if action is Action.DECOMMISSION else {})
        why = _reason(action, reason)
        if action in DESTRUCTIVE and not yes:
            _confirm(action, tid)

        async def main() -> None:
            async with runtime(settings(), worker=False) as rt:
                result = await rt.service.act(action, tid, cli_actor(), reason=why, details=details)
            typer.echo(render_result(result, rt.links))
            if result.outcome not in (Outcome.DONE, Outcome.DUPLICATE):
                raise Failure(result.message)

        run(main)

    command.__doc__ = f"{action.value.capitalize()} a tenant's provisioning. {STEPS[action].confirm}"
    if action is Action.DECOMMISSION:
        command.__doc__ += f" {BREAK_GLASS_NOTE}"
    return command


def _reason(action: Action, given: str | None) -> str | None:
    """The reason for `action`: `--reason`, else asked on the terminal (Reset, Cancel and Decommission
    need one; Retry takes one if given). A bad one, or none without a terminal, is one line and exit 2."""
    if given is None and action not in PREVIEWED:
        return None
    if given is not None:
        try:
            return parse_action_reason(given, action)
        except InvalidReason as e:
            _usage(f"--reason: {e}")
    if not sys.stdin.isatty():
        _usage(f"{action.value} needs a reason: pass --reason TEXT (there is no terminal to ask on); nothing ran")
    effect = EFFECTS[action]
    typer.echo(f"{action.value.capitalize()}: the run is {effect.run}; every allocation is {effect.allocations};")
    typer.echo(f"the tenant ends {effect.ends_in}. What will not happen: " + "; ".join(effect.not_done) + ".")
    for _ in range(3):
        try:
            return parse_action_reason(typer.prompt("Reason (audit feed and Temporal, up to 500 characters)"), action)
        except InvalidReason as e:
            typer.echo(f"error: {e}", err=True)
    _usage(f"{action.value} needs a reason; nothing ran")


def _usage(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


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
