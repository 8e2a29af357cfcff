"""Finding wedged tenants at a cost that grows with suspects and with runs that closed, not with the
healthy runs in flight (nor with all tenants).

Per sweep (a scan tick, `/tenant stuck`, `tenants --wedged`), in this order:

1. The runs that closed since the last sweep (one visibility query, core/run_census.py). Asked before
   the rows are read, so a run that completes in between shows its final row, not an open row.
2. One narrow query for every in-flight tenant's id and handle, with the database's verdict on whether
   the row alone reads *making progress* (open, a run named, no error, no action claimed, a step
   within STUCK_AFTER). Such a row is taken to run without asking the engine — the decision table would
   read it "making progress" whatever its heartbeat — unless its run is among the closed ones or is
   already known closed or gone.
3. The *suspects*, every other in-flight row naming a run (whatever its state), are asked about in
   `WorkflowId IN` batches: running, closed (and how), or unknown to the engine (orphaned).
4. Full rows are read for the suspects and for rows whose run closed or is gone, and the decision table
   assesses each: the table, not this module, says what is wedged.
5. Suspects still running are described (core/describes.py: only a describe shows heartbeats and
   retrying errors), at most `describe_budget` per sweep, each answer kept while it is current.

A run found closed or gone is remembered while its row names it: its row stays wedged on later sweeps
without asking again. At the first sweep and every `reconcile_every` (5 minutes), step 3 covers every
in-flight handle instead: runs deleted from the engine (a cluster reset) never show up as closed, so a
handle orphaned while its row still looks healthy is found at the next reconcile — or once its row
has made no progress for STUCK_AFTER, whichever comes first. Likewise an error only the engine sees (a
failing workflow task, a retrying activity) on a run that still completes steps is found once the row
has made no progress for STUCK_AFTER; `/tenant` describes and shows it at once.

A wedged tenant on its second attempt or later is also assessed with its past (core/attempts.Past:
its last Reset and Retry, from its audit feed), so one that wedged again at the same step reads
"Escalate" and is marked `wedged_again`. The feed is read once per tenant and run, not every sweep.

Sweeps run one at a time (a lock): what one learns, the next starts from. The finder is given the ports
the composition root wrapped with their time limits (core/bounded.py), so each of those calls answers
within READ_TIMEOUT or says which part did not ("engine: no answer within 2 s").
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.attempts import NO_PAST, PAST_EVENTS, Past, past_of
from core.decisions import Assessment, Limits, Situation, assess
from core.describes import Describes
from core.domain import ClosedRun, InFlightRef, RunHandle, RunObservation, RunStatus, Tenant
from core.ports import StoreError, TenantStore, WorkflowEngine
from core.run_census import CLOSED_OVERLAP, RECONCILE_EVERY, Answer, RunCensus

RUNNING, NOT_FOUND = RunStatus.RUNNING, RunStatus.NOT_FOUND
LISTED_RUNNING = RunObservation(RUNNING)
MAKING_PROGRESS = Situation.MAKING_PROGRESS


@dataclass(frozen=True)
class Sweep:
    wedged: dict[str, Assessment]
    in_flight: int
    described: int
    reconciled: bool = False  # every in-flight handle was asked about
    idle: dict[str, int] = field(default_factory=dict)  # pending, clean (e.g. just reset): tenant id -> row version


def by_workflow(closed: Sequence[ClosedRun]) -> dict[str, list[ClosedRun]]:
    runs: dict[str, list[ClosedRun]] = {}
    for run in closed:
        runs.setdefault(run.workflow_id, []).append(run)
    return runs


class WedgeFinder:
    def __init__(
        self,
        store: TenantStore,
        engine: WorkflowEngine,
        limits: Limits,
        *,
        describe_budget: int = 50,
        describe_concurrency: int = 8,
        visibility_grace: timedelta = timedelta(seconds=30),
        describe_ttl: timedelta = timedelta(minutes=30),
        reconcile_every: timedelta = RECONCILE_EVERY,
        closed_overlap: timedelta = CLOSED_OVERLAP,
    ) -> None:
        self.store, self.limits, self.visibility_grace = store, limits, visibility_grace
        self.census = RunCensus(engine, reconcile_every=reconcile_every, overlap=closed_overlap)
        self.describes = Describes(
            engine, limits, budget=describe_budget, concurrency=describe_concurrency, ttl=describe_ttl
        )
        self._ended: dict[str, Answer] = {}  # tenant id -> its run, closed or gone, while the row names it
        self._one_at_a_time = asyncio.Lock()
        self._pasts: dict[str, tuple[RunHandle | None, Past]] = {}  # tenant id -> (the run it was read for, past)

    async def sweep(self, now: datetime) -> Sweep:
        async with self._one_at_a_time:
            return await self._sweep(now)

    async def _sweep(self, now: datetime) -> Sweep:
        reconcile = self.census.reconcile_due(now)
        closed = by_workflow(await self.census.closed_since_last())
        refs = await self.store.in_flight_refs(now - self.limits.stuck_after)
        gone = {tenant_id: known.handle for tenant_id, known in self._ended.items() if known.status is NOT_FOUND}
        answers = await self.census.statuses([r for r in refs if self._to_ask(r, reconcile, closed)], gone)
        look = {r.tenant_id for r in refs if self._to_read(r, answers, closed)}
        tenants = await self.store.in_flight(look) if look else []
        ended = {
            t.id: seen
            for t in tenants
            if t.handle is not None and (seen := self._run_of(t, answers, closed, now)).status is not RUNNING
        }
        observed = {t.id: RunObservation(ended[t.id].status) if t.id in ended else LISTED_RUNNING for t in tenants}
        suspects = [t for t in tenants if t.handle is not None and t.id not in ended and self._suspicious(t, now)]
        described = await self.describes.refresh(suspects, now)
        observed |= {t.id: kept for t in suspects if (kept := self.describes.kept(t.id)) is not None}
        wedged, idle = {}, {}
        for tenant in tenants:
            run = observed[tenant.id] if tenant.handle else None
            assessment = assess(tenant, run, now=now, limits=self.limits)
            if assessment.situation is Situation.PENDING_CLEAN:
                idle[tenant.id] = tenant.version
            if assessment.situation.wedged:
                past = await self._past(tenant)
                wedged[tenant.id] = assess(tenant, run, now=now, limits=self.limits, past=past) if past else assessment
        self._ended = ended
        self._pasts = {tenant_id: kept for tenant_id, kept in self._pasts.items() if tenant_id in wedged}
        self.census.seen(now, reconciled=reconcile)
        return Sweep(wedged, len(refs), described, reconcile, idle)

    async def _past(self, tenant: Tenant) -> Past | None:
        """The tenant's last Reset and Retry (read once per run it names); None before any Retry."""
        if tenant.attempt < 2:
            return None
        kept = self._pasts.get(tenant.id)
        if kept is not None and kept[0] == tenant.handle:
            return kept[1]
        try:
            past = past_of(await self.store.events(tenant.id, PAST_EVENTS))
        except StoreError:
            return NO_PAST  # assessed without its past this sweep; read again on the next
        self._pasts[tenant.id] = (tenant.handle, past)
        return past

    def _to_ask(self, ref: InFlightRef, reconcile: bool, closed: dict[str, list[ClosedRun]]) -> bool:
        """Suspects every sweep, every handle at a reconcile; never a run known closed (closing is final)."""
        if ref.workflow_id is None:
            return False
        handle = ref.handle
        assert handle is not None
        known = self._known(ref.tenant_id, handle, closed)
        if known is not None:
            return reconcile and known.status is NOT_FOUND  # a gone run is checked again
        return reconcile or not ref.progressing

    def _to_read(self, ref: InFlightRef, answers: dict[str, Answer], closed: dict[str, list[ClosedRun]]) -> bool:
        """The full row is needed unless it reads "making progress" and its run is taken to run."""
        if not ref.progressing or ref.tenant_id in self._ended:
            return True
        answer = answers.get(ref.tenant_id)
        if answer is not None:
            return answer.status is not RUNNING
        return ref.workflow_id in closed

    def _run_of(
        self, tenant: Tenant, answers: dict[str, Answer], closed: dict[str, list[ClosedRun]], now: datetime
    ) -> Answer:
        """What is known of the run the row names now: this sweep's answer, a closure, an earlier one, or running."""
        handle = tenant.handle
        assert handle is not None
        answer = answers.get(tenant.id)
        if answer is not None and answer.handle == handle:
            if answer.status is NOT_FOUND and self._just_started(tenant, now):
                return Answer(handle, RUNNING)  # visibility lags a fresh start by about a second
            return answer
        return self._known(tenant.id, handle, closed) or Answer(handle, RUNNING)

    def _known(self, tenant_id: str, handle: RunHandle, closed: dict[str, list[ClosedRun]]) -> Answer | None:
        """How the run ended, if known: it closed since the last sweep, or it had closed or gone before."""
        for run in closed.get(handle.workflow_id, ()):
            if handle.run_id in (None, run.run_id):
                return Answer(handle, run.status)
        known = self._ended.get(tenant_id)
        return known if known is not None and known.handle == handle else None

    def _just_started(self, tenant: Tenant, now: datetime) -> bool:
        return tenant.last_progress_at is not None and now - tenant.last_progress_at < self.visibility_grace

    def _suspicious(self, tenant: Tenant, now: datetime) -> bool:
        """Anything but clear progress: the row alone cannot tell slow-but-alive from wedged."""
        return assess(tenant, LISTED_RUNNING, now=now, limits=self.limits).situation is not MAKING_PROGRESS
