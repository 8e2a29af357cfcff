"""`tenantbot provision|worker|demo`: start runs, host the saga's worker, or try everything at once."""

from __future__ import annotations

from typing import Annotated

import typer

from core.domain import Action
from core.ports import TenantExists
from core.results import Outcome
from core.saga import FAULTS, Fault
from tenantbot.bootstrap import runtime
from tenantbot.demo import run_demo
from tenantbot.operator import ACTOR_HELP, cli_actor, on_behalf_of
from tenantbot.running import EXIT_USAGE, Failure, run, settings, tenant_arg, until_stopped
from tenantbot.scheduler import recover_once, start_scheduler

FAULT_HELP = f"inject a failure for the demo and tests: {', '.join(FAULTS)}, optionally @step (1-5), e.g. hang@3"


def provision(
    tenant_id: Annotated[str, typer.Argument(help="new tenant id, e.g. acme-42")],
    fault: Annotated[str, typer.Option(help=FAULT_HELP)] = "none",
    actor: Annotated[str | None, typer.Option(help=ACTOR_HELP)] = None,
) -> None:
    """Create a tenant and start its first provisioning attempt on the configured engine."""
    tid = tenant_arg(tenant_id)
    details, who = on_behalf_of(actor), cli_actor()
    try:
        injected = Fault.parse(fault)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_USAGE) from None

    async def main() -> None:
        async with runtime(settings(), worker=False) as rt:
            rt.faults.inject(tid, injected)  # into the input of the attempt started below, and no other
            try:
                await rt.service.create(tid, who, details=details)
            except TenantExists:
                raise Failure(f"tenant {tid} already exists; see it with `tenantbot tenant {tid}`") from None
            result = await rt.service.act(Action.RETRY, tid, who, details=details)
        if result.outcome is not Outcome.DONE:
            raise Failure(result.message)
        typer.echo(f"{tid}: attempt 1 started; it progresses while a worker runs (tenantbot serve, worker or demo)")

    run(main)


def worker() -> None:
    """Run the saga's worker (and the embedded engine, unless TEMPORAL_ADDRESS is set) until stopped; it also
    settles, every SCAN_INTERVAL, operator actions that a crashed process left unfinished."""

    async def main() -> None:
        s = settings()
        async with runtime(s, worker=True) as rt:
            await recover_once(rt.recovery)
            schedule = start_scheduler(None, s.scan_interval, rt.recovery)  # settles actions a crash left unfinished
            typer.echo("worker running; Ctrl-C to stop")
            try:
                await until_stopped()
            finally:
                await schedule.stop()

    run(main, long_running=True)


def demo() -> None:
    """Start everything embedded, create one tenant per situation, show them, then let you act on them."""
    run(lambda: run_demo(settings()), long_running=True)


def register(app: typer.Typer) -> None:
    app.command("provision")(provision)
    app.command("worker")(worker)
    app.command("demo")(demo)
