"""Running a batch (core/batches.py): member by member, under the batch's lease, resumable after a crash.

One process at a time runs a batch: it holds the lease `batch:<id>` (the Leases port, as the scan holds
its own; it lasts PROCESS_LEASE), renewed in the background every third of it and checked before every
member and every canary look, and a process that finds it held leaves the batch alone. A process killed
mid-batch leaves the lease to run out; then another (serve's next look, `tenantbot batch resume`) goes on.
`serve` resumes running batches every scan interval (tenantbot/scheduler.py); the CLI runs
the batch it created in its own process, so a batch runs without `serve`.

Nothing runs twice: each member's actions go through `TenantService.act` with a request key derived from
the batch, the tenant and the action, so an action a crash cut short before its member was marked is not
run again when the batch resumes: its outcome is read from the tenant's audit feed (done, or failed with
why when it failed or recovery undid it). Each member is re-checked when its turn comes: a tenant that is
no longer in the batch's cause (reset by hand, retried, recovered by itself) is refused with why, without
acting; `act` then re-checks the decision table itself.

Before each member the batch stops, after the member under way, when someone asked it to (`batch stop`)
or while tenantbot is frozen (core/freeze.py). With a canary (Reset and Retry), the first N members run,
then the batch waits until their retries got past the step they had wedged at; one wedged (or failed)
again stops the batch and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from core import events as ev
from core.batch_checks import cut_short, moved_on
from core.batch_pace import CANARY_POLL, Canary, Pacer, canary_verdict
from core.batches import Batch, BatchNotFound, BatchStatus, BatchStore, Member, MemberStatus, NewBatch
from core.domain import Action, AuditEvent
from core.ports import Leases, StoreError
from core.results import ActionResult, Outcome, utcnow
from core.saga import STEPS as SAGA_STEPS
from core.service import TenantService

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=30)
STEP_ORDER = tuple(name for name, _ in SAGA_STEPS)
Progress = Callable[[Batch, Member], None]  # told after each member, with the batch as it was before it


class BatchWatch(Protocol):
    """Told of every run of this runner, resumed ones included (serve's metrics: bot/metrics.py)."""

    def batch_started(self, batch: Batch) -> None: ...

    def batch_member(self, batch: Batch, member: Member) -> None: ...

    def batch_ended(self, batch: Batch) -> None:
        """The run ended: the batch as it ended, or still running when it was cut short (a lost lease, a
        database error: it goes on later or elsewhere)."""


class _Unwatched:
    def batch_started(self, batch: Batch) -> None:
        pass

    def batch_member(self, batch: Batch, member: Member) -> None:
        pass

    def batch_ended(self, batch: Batch) -> None:
        pass


UNWATCHED: BatchWatch = _Unwatched()


class LeaseLost(Exception):
    """Another process took the batch's lease (this one stalled past it): it goes on, this one stops."""


class BatchRunner:
    def __init__(
        self,
        batches: BatchStore,
        service: TenantService,
        leases: Leases,
        *,
        holder: str,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        lease: timedelta = LEASE,
        canary_poll: timedelta = CANARY_POLL,
        steps: Sequence[str] = STEP_ORDER,
        watch: BatchWatch = UNWATCHED,
    ) -> None:
        self.batches, self.service, self.leases, self.watch = batches, service, leases, watch
        self.holder, self.clock, self.monotonic, self.sleep = holder, clock, monotonic, sleep
        self.lease, self.canary_poll, self.steps = lease, canary_poll, steps

    async def create(self, new: NewBatch) -> Batch:
        return await self.batches.create(new)

    async def resume_all(self) -> int:
        """Run every running batch nobody else holds (serve's job); how many this process ran."""
        ran = 0
        for batch in await self.batches.running():
            if await self.run(batch.id) is not None:
                ran += 1
        return ran

    async def run(self, batch_id: int, progress: Progress | None = None) -> Batch | None:
        """Run the batch to its end (or until stopped); None when another process holds it. Raises
        BatchNotFound, StoreError (the batch stays running: it resumes later)."""
        name = f"batch:{batch_id}"
        if not await self._hold(name):
            return None
        keeper = asyncio.create_task(self._keep(name))
        try:
            return await self._run(batch_id, progress)
        except LeaseLost:
            log.warning("batch %s: another process took its lease; it goes on there", batch_id)
            return None
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            with contextlib.suppress(StoreError):
                await self.leases.unlock(name, self.holder)

    async def _keep(self, name: str) -> None:
        """Renew the lease every third of its time, so a slow member (an engine call at its time limit)
        does not let it run out; a failed renewal is retried at the next."""
        while True:
            await asyncio.sleep((self.lease / 3).total_seconds())
            try:
                await self._hold(name)
            except StoreError as e:
                log.warning("could not renew %s: %s", name, e)

    async def _run(self, batch_id: int, progress: Progress | None) -> Batch:
        batch = await self._get(batch_id)
        if batch.status is not BatchStatus.RUNNING:
            return batch
        self.watch.batch_started(batch)
        ended: Batch | None = None
        try:
            ended = await self._members(batch, progress)
            return ended
        finally:
            self.watch.batch_ended(ended or batch)

    async def _members(self, batch: Batch, progress: Progress | None) -> Batch:
        batch_id = batch.id
        pacer = Pacer(batch.rate, self.monotonic, self.sleep)
        for member in await self.batches.members(batch_id, MemberStatus.WAITING):
            batch = await self._get(batch_id)
            if (why := await self._stop_reason(batch)) is not None:
                return await self._end(batch, BatchStatus.STOPPED, why)
            if member.position >= batch.canary > 0 and not batch.canary_passed:
                stopped = await self._await_canary(batch)
                if stopped is not None:
                    return stopped
            await self._hold(f"batch:{batch_id}", required=True)
            await pacer.wait()
            status, why = await self._member(batch, member)
            at = self.clock()
            await self.batches.mark(batch_id, member.tenant_id, status, why, at)
            await self._audit(batch, member.tenant_id, status, why, at)
            handled = Member(batch_id, member.position, member.tenant_id, member.step, status, why, at)
            self.watch.batch_member(batch, handled)
            if progress is not None:
                progress(batch, handled)
        return await self._end(await self._get(batch_id), BatchStatus.FINISHED, None)

    async def _member(self, batch: Batch, member: Member) -> tuple[MemberStatus, str]:
        """Run the batch's actions on one member, each once (a replay is answered from its request key)."""
        store, tenant_id, untouched, said = self.service.store, member.tenant_id, True, []
        for action in batch.kind.actions:
            key = batch.request_key(tenant_id, action)
            if await store.seen_request(key):  # ran before a crash: checked then, not again
                untouched = False
                if (cut := await cut_short(store, tenant_id, action, key)) is not None:
                    return MemberStatus.FAILED, cut
                said.append(f"{action.value} (already done)")
                continue
            if untouched and (moved := await moved_on(self.service, batch, member)) is not None:
                return MemberStatus.REFUSED, moved
            untouched = False
            result = await self._act(batch, action, tenant_id, key)
            if result.outcome is Outcome.REFUSED:
                return MemberStatus.REFUSED, result.message
            if result.outcome is Outcome.FAILED:
                return MemberStatus.FAILED, result.message
            said.append(result.message if result.outcome is Outcome.DONE else f"{action.value} (already done)")
        return MemberStatus.DONE, "; ".join(said)

    async def _act(self, batch: Batch, action: Action, tenant_id: str, key: str) -> ActionResult:
        """The one place a batch acts: the action takes the batch's reason as its own (audited, and given to
        the engine where it takes one), and every audit event of it names the batch."""
        details = {"batch": batch.id}
        return await self.service.act(
            action, tenant_id, batch.created_by, request_key=key, reason=batch.reason, details=details
        )

    async def _await_canary(self, batch: Batch) -> Batch | None:
        """Wait until the canary's retries got past their step (None: go on) or the batch stopped. A canary
        with a member that failed, or with none recovered (each refused: it had moved on), shows nothing about
        the rest: the batch stops and says so."""
        handled = [m for m in await self.batches.members(batch.id) if m.position < batch.canary]
        failed = next((m for m in handled if m.status is MemberStatus.FAILED), None)
        if failed is not None:
            return await self._end(
                batch, BatchStatus.STOPPED, f"stopped: canary {failed.tenant_id} failed: {failed.why}"
            )
        canary = [m for m in handled if m.status is MemberStatus.DONE]
        if not canary:
            none = "stopped: no canary member was recovered (each was refused), so nothing shows the recovery holds"
            return await self._end(batch, BatchStatus.STOPPED, none)
        while True:
            if (why := await self._stop_reason(await self._get(batch.id))) is not None:
                return await self._end(batch, BatchStatus.STOPPED, why)
            await self._hold(f"batch:{batch.id}", required=True)
            checked = []
            for member in canary:
                view = await self.service.view(member.tenant_id)
                checked.append((member, view.tenant, view.assessment))
            verdict, why = canary_verdict(checked, self.steps)
            if verdict is Canary.WEDGED_AGAIN:
                return await self._end(batch, BatchStatus.STOPPED, f"stopped: {why}")
            if verdict is Canary.PASSED:
                await self.batches.canary_passed(batch.id)
                log.info("batch %s: the canary's retries got past their step; the rest follow", batch.id)
                return None
            await self.sleep(self.canary_poll.total_seconds())

    async def _stop_reason(self, batch: Batch) -> str | None:
        if batch.stop_requested_by is not None:
            return f"stopped by {batch.stop_requested_by}"
        freeze = await self.service.switch.state()
        if freeze is not None:
            return f"stopped: {freeze.refusal(self.clock())}"
        return None

    async def _end(self, batch: Batch, status: BatchStatus, note: str | None) -> Batch:
        await self.batches.end(batch.id, status, note, self.clock())
        log.info("batch %s %s: %s%s", batch.id, status.value, batch.progress(), f" ({note})" if note else "")
        return await self._get(batch.id)

    async def _audit(self, batch: Batch, tenant_id: str, status: MemberStatus, why: str, at: datetime) -> None:
        details = {"batch": batch.id, "kind": batch.kind.value, "reason": batch.reason, "outcome": status.value}
        event = AuditEvent(tenant_id, ev.BATCH_MEMBER, batch.created_by, at, {**details, "why": why})
        try:
            await self.service.store.append([event])
        except StoreError as e:
            log.warning("batch %s: audit event for %s lost: %s", batch.id, tenant_id, e)

    async def _hold(self, name: str, *, required: bool = False) -> bool:
        held = await self.leases.try_lock(name, self.holder, now=self.clock(), ttl=self.lease)
        if required and not held:
            raise LeaseLost(name)
        return held

    async def _get(self, batch_id: int) -> Batch:
        batch = await self.batches.get(batch_id)
        if batch is None:
            raise BatchNotFound(batch_id)
        return batch
