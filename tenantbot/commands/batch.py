"""`tenantbot batch reset|retry|reset-retry|status|stop|resume`: batches (core/batches.py) from a terminal.

`batch <kind> --situation KEY` takes the wedged tenants of that cause group as the scan sees them now,
previews them, asks (or takes `--yes`; without a terminal it needs `--yes`), records the batch and runs
it in this process under the batch's lease, a line per member, so it works without `serve`; `serve`
resumes it if this process dies. Exit 0 when every member is done or refused, 1 when one failed or the
batch stopped short; every bad argument is one line and exit 2, before anything is opened.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from core.batch_runner import STEP_ORDER
from core.batches import (
    DEFAULT_RATE,
    MAX_CANARY,
    MAX_RATE,
    Batch,
    BatchNotFound,
    BatchStore,
    Kind,
    Member,
    NewBatch,
    select,
)
from core.causes import Cause, normalise
from core.decisions import Situation
from core.freeze import InvalidReason
from core.previews import parse_action_reason
from core.results import utcnow
from tenantbot.batch_console import ended_well, render_batch, render_detail, render_member, render_preview
from tenantbot.bootstrap import runtime
from tenantbot.operator import cli_actor
from tenantbot.running import EXIT_USAGE, Failure, run, settings

T = TypeVar("T")
WEDGED = {s.key: s for s in Situation if s.wedged}
NO_REASON = "no reason given"


def usage(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def _arguments(
    situation: str, step: str | None, error: str | None, reason: str | None, rate: float, canary: int | None, kind: Kind
) -> tuple[Situation, str, int]:
    """The checked arguments, or one line and exit 2."""
    if situation not in WEDGED:
        raise usage(f"--situation: unknown wedged situation {situation!r}; one of: {', '.join(WEDGED)}")
    if step is not None and step not in STEP_ORDER:
        raise usage(f"--step: unknown step {step!r}; one of: {', '.join(STEP_ORDER)}")
    if error is not None and not normalise(error).strip():
        raise usage("--error: empty; give a part of the error the group's label shows")
    if not 0 < rate <= MAX_RATE:
        raise usage(f"--rate: {rate:g} tenants/s is out of range; give more than 0, at most {MAX_RATE:g}")
    if canary is not None and not 0 <= canary <= MAX_CANARY:
        raise usage(f"--canary: {canary} is out of range; give 0 to {MAX_CANARY}")
    if canary and kind is Kind.RESET:
        raise usage("--canary: a Reset alone starts no retry to wait for; use reset-retry or drop --canary")
    try:
        why = parse_action_reason(reason, kind.actions[0]) if reason is not None else NO_REASON
    except InvalidReason as e:
        raise usage(f"--reason: {e}") from None
    return WEDGED[situation], why, kind.canary_default if canary is None else canary


def _start(kind: Kind) -> Callable[..., None]:
    def command(
        situation: Annotated[str, typer.Option(help=f"the group's situation: {', '.join(WEDGED)}")],
        step: Annotated[str | None, typer.Option(help="only tenants stopped at this step")] = None,
        error: Annotated[str | None, typer.Option(help="only tenants whose error reads so (as shown)")] = None,
        reason: Annotated[str | None, typer.Option(help="why, recorded on the batch and every member's audit")] = None,
        rate: Annotated[float, typer.Option(help="tenants per second")] = DEFAULT_RATE,
        canary: Annotated[int | None, typer.Option(help="members run before waiting for their retries")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="print the members; change nothing")] = False,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    ) -> None:
        wanted, why, canary_n = _arguments(situation, step, error, reason, rate, canary, kind)
        if not (dry_run or yes or sys.stdin.isatty()):
            raise usage(f"batch {kind.value} needs confirmation; pass --yes to run it without a terminal")
        actor = cli_actor()

        async def main() -> None:
            async with runtime(settings(), worker=False) as rt:  # the retries run on serve's (or `worker`'s) worker
                found = await rt.finder.sweep(utcnow())
                selection = select(found.wedged, wanted, step, error)
                cause = Cause(wanted, step, normalise(error) if error else None)
                if not selection.members and not selection.excluded:
                    typer.echo("no wedged tenant has that cause; `tenantbot tenants --wedged` lists the groups")
                    return
                typer.echo(render_preview(kind, cause, selection, rate=rate, canary=canary_n, all_=dry_run))
                if dry_run or not selection.members:
                    return
                if not yes and not typer.confirm(f"Run {kind.value} on {len(selection.members)} tenant(s)?"):
                    raise Failure("not confirmed; nothing ran", EXIT_USAGE)
                new = NewBatch(kind, cause, why, rate, canary_n, actor, utcnow(), selection.members)
                batch = await rt.batches.create(new)
                typer.echo(f"batch {batch.id} started (stop it with `tenantbot batch stop {batch.id}`)")
                ended = await rt.batches.run(batch.id, _printed)
                _conclude(batch.id, ended)

        run(main)

    command.__doc__ = f"Run {kind.value} on every wedged tenant of a cause group, member by member."
    return command


def _printed(batch: Batch, member: Member) -> None:
    """A line per member; after the canary's last, what the batch now waits for."""
    typer.echo(render_member(batch, member))
    if member.position + 1 == batch.canary < batch.total and not batch.canary_passed:
        typer.echo(
            f"canary: waiting until these {batch.canary} retries get past the step they wedged at "
            "(they run on the saga's worker: serve or `tenantbot worker`)"
        )


def _conclude(batch_id: int, ended: Batch | None) -> None:
    if ended is None:
        typer.echo(f"batch {batch_id} is run by another process; follow it with `tenantbot batch status {batch_id}`")
        return
    typer.echo(render_batch(ended))
    if not ended_well(ended):
        raise Failure(ended.note or f"batch {batch_id}: {ended.progress()}")


def resume(batch_id: Annotated[int, typer.Argument(help="the batch's id")]) -> None:
    """Run a batch that was cut short here, unless another process runs it."""

    async def main() -> None:
        async with runtime(settings(), worker=False) as rt:  # the retries run on serve's (or `worker`'s) worker
            ended = await rt.batches.run(batch_id, _printed)
            _conclude(batch_id, ended)

    run(main)


def status(batch_id: Annotated[int | None, typer.Argument(help="the batch's id; none: the last ones")] = None) -> None:
    """A batch with each member's outcome, or the last batches, a line each."""

    async def show(store: BatchStore) -> str:
        if batch_id is None:
            return "\n".join(render_batch(b) for b in await store.recent(20)) or "no batches"
        batch = await store.get(batch_id)
        if batch is None:
            raise Failure(str(BatchNotFound(batch_id)))
        return render_detail(batch, await store.members(batch_id))

    typer.echo(_with_store(show))


def stop(batch_id: Annotated[int, typer.Argument(help="the batch's id")]) -> None:
    """Stop a batch after the member under way."""
    actor = cli_actor()

    async def ask(store: BatchStore) -> str:
        batch = await store.request_stop(batch_id, actor)
        if batch is None:
            raise Failure(str(BatchNotFound(batch_id)))
        if batch.stop_requested_by != actor:
            return render_batch(batch)  # it had ended, or someone asked first
        return f"batch {batch_id}: stop requested; it stops after the member under way"

    typer.echo(_with_store(ask))


def _with_store(call: Callable[[BatchStore], Awaitable[T]]) -> T:
    """Open the database only (no engine), like `tenantbot freeze`."""

    async def main() -> T:
        from core.persistence import open_database

        database = await open_database(settings().db_url)
        try:
            return await call(database.batches)
        finally:
            await database.close()

    return run(main)


def register(app: typer.Typer) -> None:
    batch = typer.Typer(help="Reset / Retry every tenant of a cause group; follow, stop.", no_args_is_help=True)
    for kind in Kind:
        batch.command(kind.value)(_start(kind))
    batch.command("status")(status)
    batch.command("stop")(stop)
    batch.command("resume")(resume)
    app.add_typer(batch, name="batch")
