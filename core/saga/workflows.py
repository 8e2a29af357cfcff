"""Workflows of the saga. Deterministic: all I/O is in `core.saga.activities`.

`ProvisionTenant` runs the steps in order. On failure or cancellation it compensates: it releases
every allocation the tenant holds, in reverse step order, including what an earlier attempt allocated
and this one reused after a Reset (the guide: leftovers are "released by the compensation chain if
the next attempt fails too"), then records how the run ended. A cancel arrives as
`asyncio.CancelledError`, a BaseException that `except Exception` would miss. Compensation runs to its
end even if a cancel arrives meanwhile (a plain `asyncio.shield` would let the workflow close half
way); a cancel during a failure's compensation ends the run cancelled.

A step is cancelled with the SDK's default TRY_CANCEL, so a Cancel of a hung step compensates at
once instead of waiting out the step's heartbeat timeout; the interrupted step may keep working on its
worker for a moment, and the fenced write path refuses its progress because the row is no longer
open (the first thing a cancel's compensation does is close it, for cancels sent from outside the
bot). The final bookkeeping call is awaited through a cancel instead: a run that recorded
"completed" is not then unwound behind the row's back.

A run refused by the fence (it was reset) stops without compensating: Reset keeps allocations, and an
orphaned run must not touch the tenant. Temporal's terminate, which Reset uses, runs no workflow code.

`DecommissionTenant` releases every allocation of the tenant and marks it decommissioned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from core.saga import STEPS, OutcomeInput, ProvisionInput, RunRef, StepInput
    from core.saga.activities import ProvisioningActivities

STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["Fenced", "StepFailed"],
)
BOOKKEEPING_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), non_retryable_error_types=["Fenced"])
BOOKKEEPING_TIMEOUT = timedelta(seconds=30)
# Runs started before this version released only the steps they had started, with no "cancelling" call;
# replaying one of them mid-compensation must issue the same commands.
COMPENSATE_EVERY_ALLOCATION = "compensate-every-allocation"


def _cancelled(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError | CancelledError) or (
        isinstance(error, ActivityError) and isinstance(error.cause, CancelledError)
    )


def _fenced(error: BaseException) -> bool:
    cause = error.cause if isinstance(error, ActivityError) else error
    return isinstance(cause, ApplicationError) and cause.type == "Fenced"


@workflow.defn
class ProvisionTenant:
    def __init__(self) -> None:
        self.cancel_requested = False

    @workflow.run
    async def run(self, params: ProvisionInput) -> str:
        index = 0
        try:
            for index in range(1, len(STEPS) + 1):
                await workflow.execute_activity_method(
                    ProvisioningActivities.run_step,
                    StepInput(params.run, index, params.fault),
                    start_to_close_timeout=timedelta(hours=1),
                    heartbeat_timeout=timedelta(seconds=params.heartbeat_timeout_s),
                    retry_policy=STEP_RETRY,
                )
            await _finish(OutcomeInput(params.run, "completed"), ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
        except BaseException as error:
            if _fenced(error) or not isinstance(error, asyncio.CancelledError | FailureError):
                raise  # fenced out, or the worker evicting the workflow: not ours to unwind
            self.cancel_requested = _cancelled(error)
            await self._to_the_end(self._unwind(params, index, error))
            if self.cancel_requested and not _cancelled(error):
                raise asyncio.CancelledError("cancelled while compensating a failure") from error
            raise
        return "active"

    async def _to_the_end(self, work: Coroutine[Any, Any, None]) -> None:
        """Await `work` to its end through any cancel of the workflow, remembering that one came."""
        task = asyncio.ensure_future(work)
        while True:
            try:
                await asyncio.shield(task)
                return
            except asyncio.CancelledError:
                if task.cancelled():  # the worker is evicting the workflow, not a cancel of the run
                    raise
                self.cancel_requested = True

    async def _unwind(self, params: ProvisionInput, index: int, error: BaseException) -> None:
        run = params.run
        if workflow.patched(COMPENSATE_EVERY_ALLOCATION):
            if self.cancel_requested:
                await _finish(OutcomeInput(run, "cancelling"))
            steps = [step for step in range(len(STEPS), 0, -1) if STEPS[step - 1][1] is not None]
        else:
            steps = list(range(index, 0, -1))
        for step in steps:
            try:
                await workflow.execute_activity_method(
                    ProvisioningActivities.release_step,
                    StepInput(run, step, params.fault),
                    start_to_close_timeout=BOOKKEEPING_TIMEOUT,
                    retry_policy=BOOKKEEPING_RETRY,
                )
            except ActivityError:
                workflow.logger.exception("compensation of step %d failed; continuing", step)
        if self.cancel_requested:
            await _finish(OutcomeInput(run, "cancelled"))
        else:
            message = str(error.cause) if isinstance(error, ActivityError) and error.cause else str(error)
            await _finish(OutcomeInput(run, "failed", STEPS[index - 1][0], message))


@workflow.defn
class DecommissionTenant:
    @workflow.run
    async def run(self, run: RunRef) -> str:
        await _finish(OutcomeInput(run, "decommissioned"))
        return "decommissioned"


async def _finish(
    outcome: OutcomeInput, cancellation: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL
) -> None:
    await workflow.execute_activity_method(
        ProvisioningActivities.finish,
        outcome,
        start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        retry_policy=BOOKKEEPING_RETRY,
        cancellation_type=cancellation,
    )
