"""`TemporalEngine`: the WorkflowEngine port on a Temporal client.

The guide's Reset is Temporal's *terminate* (no workflow code runs, nothing is compensated), not
Temporal's "workflow reset", which would replay the saga. A run the engine does not know answers
NOT_FOUND rather than an error, because that *is* the orphaned-handle situation. Every other failure
becomes an EngineError with one short line for the operator.

Two waits are bounded and short. `start` gives the previous attempt up to `CLOSE_WAIT` to close: the
saga records its outcome (failed, cancelled) before its workflow closes, so a Retry pressed right then
would otherwise be refused with "Reset first". `cancel` confirms what became of the run for up to
`CANCEL_CONFIRM` (a cancel's final status is checked, never assumed): a run that completed
instead makes the Cancel fail, rather than end with no outcome at all. A run that closed cancelled
without compensating (sdk-python#1224) leaves its row `cancelling` with a closed run, which the
decision table shows as "wedged: engine closed, row open" with Reset. Both run inside the caller's
bound on one engine call (ENGINE_TIMEOUT), so each is capped at a third of it (`call_budget`): a short
ENGINE_TIMEOUT must not turn a cancel the engine accepted into a failed one.

The request that asked for a run or its end is named to the engine (core/request_ids.py): started runs
carry `request_id` in their memo, and terminate and cancel say `(request <id>)` in their reason, so one
press can be found in Temporal's history from its audit event or log line, and the other way round.

Demo and test faults reach the saga here and nowhere else: `start` puts the fault the edge planned for
the tenant's attempt 1 (`FaultPlan`) into that run's input; `orphan` deletes the run once started.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import TimeoutType
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest, GetSystemInfoRequest
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core.domain import ClosedRun, RunHandle, RunObservation, RunStatus, provisioning_handle
from core.ports import EngineError, RunAlreadyLive
from core.request_ids import current_request_id
from core.saga import FaultPlan, ProvisionInput, RunRef
from core.saga.workflows import DecommissionTenant, ProvisionTenant

STATUS = {
    WorkflowExecutionStatus.RUNNING: RunStatus.RUNNING,
    WorkflowExecutionStatus.COMPLETED: RunStatus.COMPLETED,
    WorkflowExecutionStatus.FAILED: RunStatus.FAILED,
    WorkflowExecutionStatus.CANCELED: RunStatus.CANCELED,
    WorkflowExecutionStatus.TERMINATED: RunStatus.TERMINATED,
    WorkflowExecutionStatus.CONTINUED_AS_NEW: RunStatus.RUNNING,
    WorkflowExecutionStatus.TIMED_OUT: RunStatus.TIMED_OUT,
}
CLOSE_WAIT = timedelta(seconds=3)
CANCEL_CONFIRM = timedelta(seconds=2)
POLL_EVERY = 0.1
BY_ID = 1000  # workflow ids per `WorkflowId IN (...)` query (the finder asks at most as many at once)


@asynccontextmanager
async def engine_errors(what: str) -> AsyncIterator[None]:
    try:
        yield
    except (EngineError, WorkflowAlreadyStartedError):
        raise
    except RPCError as e:
        raise EngineError(f"{what}: {e.message or e.status.name}") from e
    except Exception as e:  # the SDK raises RuntimeError and friends when the server is unreachable
        raise EngineError(f"{what}: {plain(str(e)) or type(e).__name__}") from e


OS_MESSAGE = re.compile(r'message: "([^"]+)"')


def plain(text: str) -> str:
    """An SDK error as one short line: the OS's own words when the Rust core wraps them in debug output."""
    found = OS_MESSAGE.search(text)
    first = found.group(1) if found else (text.splitlines() or [""])[0]
    return first[:200]


class TemporalEngine:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        *,
        heartbeat_timeout: timedelta,
        call_budget: timedelta | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        self.client, self.task_queue, self.heartbeat_timeout = client, task_queue, heartbeat_timeout
        self.faults = faults if faults is not None else FaultPlan()  # demo and tests: into the saga's input
        third = call_budget / 3 if call_budget is not None else CLOSE_WAIT
        self.close_wait, self.cancel_confirm = min(CLOSE_WAIT, third), min(CANCEL_CONFIRM, third)

    async def ping(self) -> None:
        """The engine answers (readiness): one system-info call, no workflow read. Not part of the port:
        only the composition root asks it, for `/readyz`."""
        async with engine_errors("ping"):
            await self.client.workflow_service.get_system_info(GetSystemInfoRequest())

    async def describe(self, handle: RunHandle) -> RunObservation:
        try:
            async with engine_errors("describe"):
                described = await self.client.get_workflow_handle(handle.workflow_id, run_id=handle.run_id).describe()
        except EngineError as e:
            if isinstance(e.__cause__, RPCError) and e.__cause__.status is RPCStatusCode.NOT_FOUND:
                return RunObservation(RunStatus.NOT_FOUND)
            raise
        return observe(described)

    async def start(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        if handle.attempt > 1:
            previous = await self._closed(provisioning_handle(tenant_id, handle.attempt - 1), self.close_wait)
            if previous is RunStatus.RUNNING:
                raise RunAlreadyLive(f"attempt {handle.attempt - 1} of {tenant_id} is still running; Reset first")
        fault = self.faults.for_attempt(tenant_id, handle.attempt)
        params = ProvisionInput(
            RunRef(tenant_id, handle.workflow_id, handle.attempt),
            fault=str(fault) if fault and fault.kind != "orphan" else None,
            heartbeat_timeout_s=self.heartbeat_timeout.total_seconds(),
        )
        try:
            async with engine_errors("start"):
                started = await self.client.start_workflow(
                    ProvisionTenant.run,
                    params,
                    id=handle.workflow_id,
                    task_queue=self.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    memo=_memo(),
                )
        except WorkflowAlreadyStartedError:
            raise RunAlreadyLive(f"{handle.workflow_id} is already running; Reset first") from None
        result = replace(handle, run_id=started.result_run_id)
        if fault is not None and fault.kind == "orphan":
            await self._forget(result)
        return result

    async def _forget(self, handle: RunHandle) -> None:
        """Fault `orphan`: delete the run, as a cluster reset or a manual clean-up would."""
        async with engine_errors("delete"):
            await self.client.workflow_service.delete_workflow_execution(
                DeleteWorkflowExecutionRequest(
                    namespace=self.client.namespace,
                    workflow_execution=WorkflowExecution(workflow_id=handle.workflow_id, run_id=handle.run_id or ""),
                )
            )

    async def _closed(self, handle: RunHandle, within: timedelta) -> RunStatus:
        """The run's status once it is no longer running, or RUNNING if it still is after `within`."""
        deadline = asyncio.get_running_loop().time() + within.total_seconds()
        while (status := (await self.describe(handle)).status) is RunStatus.RUNNING:
            if asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(POLL_EVERY)
        return status

    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        async with engine_errors("cancel"):
            await self.client.get_workflow_handle(handle.workflow_id, run_id=handle.run_id).cancel(
                reason=_with_request(reason or "tenantbot cancel")
            )
        try:
            status = await self._closed(handle, self.cancel_confirm)
        except EngineError:
            return  # the request was accepted; the confirmation is a courtesy, not part of the cancel
        if status not in (RunStatus.RUNNING, RunStatus.CANCELED):
            raise EngineError(f"cancel: the run had already {_closed_as(status)}; nothing was cancelled")

    async def terminate(self, handle: RunHandle, reason: str) -> None:
        try:
            async with engine_errors("terminate"):
                await self.client.get_workflow_handle(handle.workflow_id, run_id=handle.run_id).terminate(
                    reason=_with_request(reason)
                )
        except EngineError as e:
            if not (isinstance(e.__cause__, RPCError) and e.__cause__.status is RPCStatusCode.NOT_FOUND):
                raise  # NOT_FOUND: unknown or already closed, which is what Reset wants

    async def decommission(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        try:
            async with engine_errors("decommission"):
                started = await self.client.start_workflow(
                    DecommissionTenant.run,
                    RunRef(tenant_id, handle.workflow_id, handle.attempt),
                    id=handle.workflow_id,
                    task_queue=self.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    memo=_memo(),
                )
        except WorkflowAlreadyStartedError:
            raise RunAlreadyLive(f"{handle.workflow_id} has already run") from None
        return replace(handle, run_id=started.result_run_id)

    async def run_statuses(self, handles: Sequence[RunHandle]) -> dict[str, RunStatus]:
        """One `WorkflowId IN (...)` visibility query (per 1,000 ids); open and closed runs, not deleted ones."""
        wanted = {h.workflow_id: h.run_id for h in handles}
        ids = sorted(wanted)
        found: dict[str, RunStatus] = {}
        async with engine_errors("list workflows by id"):
            for start in range(0, len(ids), BY_ID):
                names = ", ".join(f'"{i}"' for i in ids[start : start + BY_ID])
                async for run in self.client.list_workflows(f"WorkflowId IN ({names})", page_size=1000):
                    if wanted.get(run.id) in (None, run.run_id) and run.status is not None:
                        found.setdefault(run.id, STATUS.get(run.status, RunStatus.RUNNING))  # newest first
        return found

    async def count_running(self, handles: Sequence[RunHandle]) -> int:
        """A visibility count (no rows sent back): a fraction of the cost of listing the same runs."""
        names = ", ".join(f'"{i}"' for i in sorted({h.workflow_id for h in handles}))
        async with engine_errors("count running workflows"):
            return (await self.client.count_workflows(f'WorkflowId IN ({names}) AND ExecutionStatus="Running"')).count

    async def closed_since(self, after: datetime) -> Sequence[ClosedRun]:
        """Closed runs of this task queue by CloseTime; a run that continued as new is carried on by the next
        (STATUS reads it as running), so it is left out."""
        stamp = after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        query = f'TaskQueue="{self.task_queue}" AND ExecutionStatus!="Running" AND CloseTime>"{stamp}"'
        async with engine_errors("list closed workflows"):
            listed = [
                (run, STATUS.get(run.status) if run.status else None)
                async for run in self.client.list_workflows(query, page_size=1000)
            ]
        return [
            ClosedRun(run.id, run.run_id, status) for run, status in listed if status not in (None, RunStatus.RUNNING)
        ]


def _memo() -> dict[str, str] | None:
    rid = current_request_id()
    return {"request_id": rid} if rid else None


def _with_request(reason: str) -> str:
    rid = current_request_id()
    return f"{reason} (request {rid})" if rid else reason


def _closed_as(status: RunStatus) -> str:
    return {RunStatus.NOT_FOUND: "gone from the engine", RunStatus.TIMED_OUT: "timed out"}.get(status, str(status))


def observe(described: WorkflowExecutionDescription) -> RunObservation:
    raw = described.raw_description
    status = STATUS.get(described.status, RunStatus.RUNNING) if described.status else RunStatus.RUNNING
    task_attempt = raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0
    cancel_requested = raw.HasField("workflow_extended_info") and raw.workflow_extended_info.cancel_requested
    run = RunObservation(
        status, workflow_task_attempt=task_attempt, cancel_requested=cancel_requested, run_id=described.run_id
    )
    if not raw.pending_activities:
        return run
    activity: PendingActivityInfo = raw.pending_activities[0]
    failure = activity.last_failure if activity.HasField("last_failure") else None
    options = activity.activity_options if activity.HasField("activity_options") else None
    return replace(
        run,
        pending_activity=activity.activity_type.name,
        activity_attempt=activity.attempt,
        # a retried attempt's start is not a sign of life, so no fallback to last_started_time here
        last_heartbeat=activity.last_heartbeat_time.ToDatetime(tzinfo=UTC)
        if activity.HasField("last_heartbeat_time")
        else None,
        heartbeat_timeout=options.heartbeat_timeout.ToTimedelta()
        if options is not None and options.HasField("heartbeat_timeout")
        else None,
        last_failure=failure.message if failure is not None else None,
        heartbeat_timed_out=failure is not None
        and failure.HasField("timeout_failure_info")
        and failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
    )
