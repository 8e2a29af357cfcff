"""Workflows of the saga. Deterministic: all I/O is in `core.saga.activities`.

`ProvisionTenant` runs the steps in order. A step's compensation is registered before the step runs
(a step can allocate and then fail), and on failure or cancellation the compensations run in reverse,
shielded, because a workflow cancel arrives as `asyncio.CancelledError`, a BaseException that
`except Exception` would miss. A run refused by the fence (it was reset) stops without compensating:
Reset keeps allocations, and an orphaned run must not touch the tenant. Temporal's terminate, which
Reset uses, runs no workflow code at all.

`DecommissionTenant` releases every allocation of the tenant and marks it decommissioned.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError

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


def _cancelled(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError | CancelledError) or (
        isinstance(error, ActivityError) and isinstance(error.cause, CancelledError)
    )


def _fenced(error: BaseException) -> bool:
    cause = error.cause if isinstance(error, ActivityError) else error
    return isinstance(cause, ApplicationError) and cause.type == "Fenced"


@workflow.defn
class ProvisionTenant:
    @workflow.run
    async def run(self, params: ProvisionInput) -> str:
        started: list[int] = []
        for index in range(1, len(STEPS) + 1):
            started.append(index)  # compensation registered before the step
            try:
                await workflow.execute_activity_method(
                    ProvisioningActivities.run_step,
                    StepInput(params.run, index, params.fault),
                    start_to_close_timeout=timedelta(hours=1),
                    heartbeat_timeout=timedelta(seconds=params.heartbeat_timeout_s),
                    retry_policy=STEP_RETRY,
                )
            except BaseException as error:
                if _fenced(error) or not isinstance(error, asyncio.CancelledError | FailureError):
                    raise  # fenced out, or the worker evicting the workflow: not ours to unwind
                await asyncio.shield(asyncio.ensure_future(self._unwind(params.run, started, index, error)))
                raise
        await _finish(OutcomeInput(params.run, "completed"))
        return "active"

    async def _unwind(self, run: RunRef, started: list[int], index: int, error: BaseException) -> None:
        for step in reversed(started):
            try:
                await workflow.execute_activity_method(
                    ProvisioningActivities.release_step,
                    StepInput(run, step),
                    start_to_close_timeout=BOOKKEEPING_TIMEOUT,
                    retry_policy=BOOKKEEPING_RETRY,
                )
            except ActivityError:
                workflow.logger.exception("compensation of step %d failed; continuing", step)
        if _cancelled(error):
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


async def _finish(outcome: OutcomeInput) -> None:
    await workflow.execute_activity_method(
        ProvisioningActivities.finish,
        outcome,
        start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        retry_policy=BOOKKEEPING_RETRY,
    )
