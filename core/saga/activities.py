"""Activities of the provisioning saga: the only saga code that does I/O.

Each step heartbeats while it works (that is how Temporal delivers cancellation and how a wedged step
shows), records its allocation once through the fenced `RunReporter` (a retried step gets back what
the first attempt made), and records progress when done. A write refused by the fence means the run
was reset or superseded: the step fails for good, leaving nothing behind. A write refused because the
row is no longer open (a Cancel was claimed) stops the step too, but as a retryable failure: the
cancel reaching the workflow then cancels the retry, and if the Cancel was rolled back (the engine
refused it) the retry carries on. The "resources" are simulated; the faults reproduce each situation
of the decision table for the demo and the tests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.run_writes import Closed, Fenced, RunReporter
from core.saga import STEPS, Fault, OutcomeInput, StepInput


def _fenced(error: Fenced) -> ApplicationError:
    return ApplicationError(str(error), type="Fenced", non_retryable=True)


class ProvisioningActivities:
    def __init__(self, reporter: RunReporter, *, step_time: timedelta, heartbeat_every: timedelta) -> None:
        self.reporter, self.step_time, self.heartbeat_every = reporter, step_time, heartbeat_every

    @activity.defn
    async def run_step(self, step: StepInput) -> None:
        name, kind = STEPS[step.index - 1]
        run, handle = step.run, step.run.handle
        fault = Fault.parse(step.fault)
        try:
            await self.reporter.step_started(run.tenant_id, handle, name)
            if fault is not None and fault.step == step.index:
                await self._misbehave(fault, step, name)
            await self._work(step, name)
            if kind is not None:
                await self.reporter.allocated(run.tenant_id, handle, kind, f"{kind}-{uuid.uuid4().hex[:8]}")
            await self.reporter.step_completed(run.tenant_id, handle, name)
        except Closed as e:
            raise ApplicationError(str(e), type="Closed") from None
        except Fenced as e:
            raise _fenced(e) from None

    async def _work(self, step: StepInput, name: str) -> None:
        remaining = self.step_time.total_seconds()
        while remaining > 0:
            await self._beat(step, name)
            pause = min(remaining, self.heartbeat_every.total_seconds())
            await asyncio.sleep(pause)
            remaining -= pause

    async def _beat(self, step: StepInput, name: str) -> None:
        activity.heartbeat(name)
        await self.reporter.heartbeat(step.run.tenant_id, step.run.handle, name)

    async def _misbehave(self, fault: Fault, step: StepInput, name: str) -> None:
        if fault.kind == "fail":
            raise ApplicationError(f"{name} failed: simulated quota exceeded", type="StepFailed", non_retryable=True)
        if fault.kind == "error":
            await self.reporter.error(step.run.tenant_id, step.run.handle, f"{name}: upstream API returned 500")
        if fault.kind == "hang":
            # No heartbeat: the engine times the attempt out and retries it, which hangs again. Give up the
            # coroutine once the engine has surely abandoned it, so hung attempts don't pile up on the worker.
            timeout = activity.info().heartbeat_timeout or timedelta(seconds=60)
            await asyncio.sleep(timeout.total_seconds() * 3)
            raise ApplicationError(f"{name} hung (simulated)", type="Hung")
        while fault.kind in ("slow", "error", "jam"):  # alive but never finishing, until cancelled
            await self._beat(step, name)
            await asyncio.sleep(self.heartbeat_every.total_seconds())

    @activity.defn
    async def release_step(self, step: StepInput) -> None:
        """Compensation of one step: release what it allocated, if anything is held."""
        kind = STEPS[step.index - 1][1]
        if kind is None:
            return
        try:
            held = {a.kind for a in await self.reporter.store.allocations(step.run.tenant_id)}
            if kind in held:
                fault = Fault.parse(step.fault)
                if fault is not None and fault.kind == "jam":  # the engine keeps retrying: a stuck cancel
                    raise ApplicationError(f"releasing {kind} refused: resource locked (simulated)", type="Jammed")
                await self.reporter.released(step.run.tenant_id, step.run.handle, kind)
        except Fenced as e:
            raise _fenced(e) from None

    @activity.defn
    async def finish(self, outcome: OutcomeInput) -> None:
        """Record how the run ended: completed, failed (with the activity), cancelled or decommissioned."""
        run, handle = outcome.run, outcome.run.handle
        try:
            if outcome.outcome == "completed":
                await self.reporter.completed(run.tenant_id, handle)
            elif outcome.outcome == "cancelling":
                await self.reporter.cancelling(run.tenant_id, handle)
            elif outcome.outcome == "cancelled":
                await self.reporter.cancelled(run.tenant_id, handle)
            elif outcome.outcome == "decommissioned":
                for allocation in await self.reporter.store.allocations(run.tenant_id):
                    await self.reporter.released(run.tenant_id, handle, allocation.kind)
                await self.reporter.decommissioned(run.tenant_id, handle)
            else:
                await self.reporter.failed(run.tenant_id, handle, outcome.activity or "unknown", outcome.message or "")
        except Fenced as e:
            raise _fenced(e) from None

    def all(self) -> list[Callable[..., Any]]:
        return [self.run_step, self.release_step, self.finish]
