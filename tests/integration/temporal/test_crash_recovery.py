"""`tenantbot serve` killed (SIGKILL) in the middle of a Reset or a Cancel pressed in Slack, then started
again: the action is settled from what the engine did — completed on recovery, or failed "interrupted"
with the row as it was — with exactly one outcome in the audit feed, and the wedge alert is not resolved
before that. Real processes, the real Temporal dev server, a real SQLite file.

The kill points come from the test-only crash seam (`TENANTBOT_TEST_CRASH`, tenantbot/crash.py). In-process
tests then check what recovery reads from the real engine after a Cancel and a Retry cut short."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.bounded import bounded_ports
from core.decisions import Situation
from core.domain import Action, RunStatus, Tenant, TenantState
from core.liveness import ProcessLease
from core.persistence import open_database
from core.recovery import Recovery
from core.results import utcnow
from tenantbot.bootstrap import Runtime
from tests.e2e.serving import press_body, serve_env, signed_post, wait_until_healthy
from tests.e2e.slack_stub import SlackStub, free_port
from tests.integration.temporal.conftest import provision, reach

pytestmark = pytest.mark.temporal
USER = "U42"


def recovery_env(data_dir: Path, address: str, slack: SlackStub, port: int) -> dict[str, str]:
    """`serve` on the session's engine, whose process lease runs out 2 s after it was killed."""
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    return serve_env(data_dir, slack, port, TEMPORAL_ADDRESS=address, TEMPORAL_TASK_QUEUE=queue, PROCESS_LEASE="2s")


def tenantbot(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tenantbot", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def pressed(action: str, tenant_id: str, slack: SlackStub) -> str:
    button = {
        "action_id": f"tenant_{action}",
        "block_id": f"tenant_actions:{tenant_id}",
        "value": tenant_id,
        "action_ts": "1700000000.1",
    }
    return press_body(button, slack.response_url("press"), user=USER)


async def row_and_feed(data_dir: Path, tenant_id: str) -> tuple[Tenant, list[tuple[str, dict[str, Any]]]]:
    database = await open_database(f"sqlite:///{data_dir / 'tenantbot.db'}", migrate_schema=False)
    try:
        tenant = await database.tenants.get(tenant_id)
        store_events = await database.tenants.events(tenant_id, 100)
        events = [(e.type.removeprefix("tenant.provisioning."), e.details) for e in store_events]
    finally:
        await database.close()
    assert tenant is not None
    return tenant, list(reversed(events))


async def settled_with(data_dir: Path, tenant_id: str, what: str, timeout: float = 45) -> None:
    """Wait until the claim is released and the feed holds an event of type `what`."""
    for _ in range(int(timeout * 5)):
        tenant, feed = await row_and_feed(data_dir, tenant_id)
        if tenant.claim is None and any(kind == what for kind, _ in feed):
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"not settled with {what} within {timeout:g} s: {tenant.claim}, {[kind for kind, _ in feed]}")


async def resolution(slack: SlackStub, timeout: float = 15) -> str:
    """The alert's blocks once an edit shows it resolved."""
    for _ in range(int(timeout * 10)):
        resolved = [str(u["blocks"]) for u in slack.sent("/api/chat.update") if "resolved" in str(u.get("blocks"))]
        if resolved:
            return resolved[0]
        await asyncio.sleep(0.1)
    pytest.fail(f"the alert was not resolved within {timeout:g} s")


def action_events(feed: list[tuple[str, dict[str, Any]]], action: str) -> list[str]:
    return [kind for kind, _ in feed if kind.startswith(f"{action}_")]


async def stop(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
    return process.stderr.read().decode() if process.stderr else ""


@pytest.mark.parametrize(
    ("action", "point", "settled"),
    [
        ("reset", "after-claim", "reset_failed"),
        ("reset", "after-engine-call", "reset_completed"),
        ("cancel", "after-claim", "cancel_failed"),
        ("cancel", "after-engine-call", "cancel_completed"),
    ],
)
async def test_serve_killed_in_the_middle_of_an_action_settles_it_once_started_again(
    tmp_path: Path, temporal_address: str, action: str, point: str, settled: str
) -> None:
    slack = SlackStub()
    await slack.start()
    port = free_port()
    env = recovery_env(tmp_path, temporal_address, slack, port)
    tenant_id = f"t-{uuid.uuid4().hex[:8]}"
    first = tenantbot("serve", env={**env, "TENANTBOT_TEST_CRASH": point})
    second = None
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_healthy(session, port, first)
            provision = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "tenantbot", "provision", tenant_id, "--fault", "hang@2"],
                env=env,
                capture_output=True,
                timeout=60,
            )
            assert provision.returncode == 0, provision.stderr
            [alert] = await slack.wait_for_alerts(timeout=30)  # the provision's Retry is announced too
            assert f"{tenant_id} is wedged: no progress" in alert["text"]

            with contextlib.suppress(aiohttp.ClientError):  # killed before it answered
                await signed_post(session, f"http://127.0.0.1:{port}/slack/events", pressed(action, tenant_id, slack))
            assert await asyncio.to_thread(first.wait, 30) == -9
            before, feed = await row_and_feed(tmp_path, tenant_id)
            # the claim is left behind, the action's outcome is not written (the saga may have finished a cancel)
            assert before.claim is not None and action_events(feed, action)[0] == f"{action}_started"
            assert f"{action}_failed" not in action_events(feed, action)

            second = tenantbot("serve", env=env)
            await settled_with(tmp_path, tenant_id, settled)
        after, feed = await row_and_feed(tmp_path, tenant_id)
        assert after.claim is None
        assert action_events(feed, action) == [f"{action}_started", settled]  # one outcome, the right one
        if point == "after-claim":
            assert (after.state, after.handle) == (TenantState.PROVISIONING, before.handle)  # the row as it was
            assert dict(feed)[settled]["cause"] == "interrupted"
            await asyncio.sleep(3)  # a few more ticks: the tenant is still wedged, its alert still open
            assert not [u for u in slack.sent("/api/chat.update") if "resolved" in str(u.get("blocks"))]
        else:
            if action == "reset":
                assert (after.state, after.handle, dict(feed)[settled]["detail"]) == (
                    TenantState.PENDING,
                    None,
                    "completed on recovery",
                )
            assert "no longer wedged" not in await resolution(slack)  # resolved by what moved it
    finally:
        outputs = [await stop(p) for p in (first, second) if p is not None]
        await slack.stop()
    assert "Traceback" not in outputs[-1] or "Completing activity" in outputs[-1], outputs[-1]


class Crash(BaseException):
    """The process dies here (nothing after it runs)."""


class DiesAfter:
    """The engine port, except that the process dies as soon as `call` has returned."""

    def __init__(self, engine: Any, call: str) -> None:
        self.engine, self.call = engine, call

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.engine, name)
        if name != self.call:
            return method

        async def then_die(*args: Any) -> Any:
            await method(*args)
            raise Crash()

        return then_die


async def crashed_after_the_engine_call(rt: Runtime, action: Action, tenant_id: str) -> Recovery:
    """Run `action` until its engine call returned, let the process die there, and give a survivor's recovery."""
    live = rt.service.engine
    rt.service.engine = DiesAfter(live, {Action.CANCEL: "cancel", Action.RETRY: "start"}[action])
    with pytest.raises(Crash):
        await rt.service.act(action, tenant_id, "U1")
    rt.service.engine = live
    await rt.service.lease.release()  # the process is gone: its liveness lease with it
    survivor = ProcessLease(rt.database.leases, ttl=timedelta(seconds=30), clock=utcnow)
    s = rt.settings
    store, engine = bounded_ports(rt.database.tenants, rt.engine, s.timeouts)
    return Recovery(store, engine, survivor, limits=s.limits, clock=utcnow)


async def test_a_cancel_cut_short_while_the_run_compensates_is_settled_from_the_engines_cancel_request(
    world: Runtime, tid: str
) -> None:
    await provision(world, tid, "jam@3")  # its compensation never finishes: the run stays running
    await reach(world, tid, Situation.SLOW_BUT_ALIVE)
    survivor = await crashed_after_the_engine_call(world, Action.CANCEL, tid)
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and tenant.handle is not None
    run = await world.engine.describe(tenant.handle)
    assert (run.status, run.cancel_requested) == (RunStatus.RUNNING, True)
    assert await survivor.run() == 1
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and (tenant.state, tenant.claim) == (TenantState.CANCELLING, None)
    feed = [e.type.removeprefix("tenant.provisioning.") for e in await world.database.tenants.events(tid, 50)]
    assert [k for k in feed if k.startswith("cancel_")] == ["cancel_started"]  # the saga writes the outcome


async def test_a_retry_cut_short_after_the_start_is_completed_with_the_new_runs_id(world: Runtime, tid: str) -> None:
    await provision(world, tid, "fail@2")
    await reach(world, tid, Situation.FAILED_CLEANLY)
    survivor = await crashed_after_the_engine_call(world, Action.RETRY, tid)
    assert await survivor.run() == 1
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and tenant.claim is None and tenant.attempt == 2
    assert tenant.handle is not None and tenant.handle.run_id is not None
    assert tenant.handle.workflow_id == f"provision-{tid}-2"
    [latest] = await world.database.tenants.events(tid, 1)
    assert (latest.type, latest.details["detail"]) == ("tenant.provisioning.retry_completed", "completed on recovery")
