"""Finding wedged tenants at a cost that grows with in-flight tenants, not with all tenants.

Per tick: one indexed query gives the in-flight rows (every in-flight state: the decision table, not
this module, decides what is wedged), one engine listing gives the running runs, and — only when some
rows name a run missing from that listing — one more visibility call tells which of those runs closed
(and how) and which the engine does not know (orphaned). A row whose listed-running run is not
clearly making progress is a *suspect*: only the engine's describe shows its heartbeats and retrying
errors. Suspects are described at most `describe_budget` per tick, never-described first, and each
answer is kept until the row changes, `describe_ttl` passes, or the kept answer would now read as a
different situation (a heartbeat that has since gone quiet) — so a stable wedge costs no describe at
all after its first tick. A run that still completes steps is not described: an error only the engine
sees (a failing workflow task, a retrying activity) stops its steps, so it is found once the row has
made no progress for STUCK_AFTER; `/tenant` describes and shows it at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.decisions import Assessment, Limits, Situation, assess
from core.domain import RunObservation, RunStatus, Tenant
from core.ports import EngineError, TenantStore, WorkflowEngine

LISTED_RUNNING = RunObservation(RunStatus.RUNNING)
NOT_LISTED = RunObservation(RunStatus.NOT_RUNNING)  # to be asked about in the visibility call
NOT_FOUND = RunObservation(RunStatus.NOT_FOUND)
MAKING_PROGRESS = Situation.MAKING_PROGRESS


@dataclass(frozen=True)
class Sweep:
    wedged: dict[str, Assessment]
    in_flight: int
    described: int


@dataclass(frozen=True)
class Described:
    observation: RunObservation
    at: datetime
    row: tuple[object, ...]  # what of the row the answer was read against
    situation: Situation


def row_key(tenant: Tenant) -> tuple[object, ...]:
    """The row's facts that make an engine answer worth asking again (heartbeats alone do not)."""
    return (tenant.handle, tenant.state, tenant.last_progress_at, tenant.error, tenant.claim)


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
    ) -> None:
        self.store, self.engine, self.limits = store, engine, limits  # bounded ports: a hang says which part hung
        self.describe_budget, self.visibility_grace, self.describe_ttl = describe_budget, visibility_grace, describe_ttl
        self._gate = asyncio.Semaphore(describe_concurrency)
        self._described: dict[str, Described] = {}

    async def sweep(self, now: datetime) -> Sweep:
        tenants = await self.store.in_flight()
        listed = await self.engine.list_running()
        running = {run.workflow_id for run in listed}
        observed = {t.id: self._from_listing(t, running, now) for t in tenants}
        await self._ask_about_missing([t for t in tenants if observed[t.id] is NOT_LISTED], observed)
        suspects = [t for t in tenants if observed[t.id] is LISTED_RUNNING and self._suspicious(t, now)]
        self._described = {
            t.id: kept for t in suspects if (kept := self._described.get(t.id)) and kept.row == row_key(t)
        }
        due = sorted((t for t in suspects if not self._fresh(t, now)), key=self._priority)[: self.describe_budget]
        for tenant, run in zip(due, await asyncio.gather(*(self._describe(t) for t in due)), strict=True):
            if run is not None:
                situation = assess(tenant, run, now=now, limits=self.limits).situation
                self._described[tenant.id] = Described(run, now, row_key(tenant), situation)
        observed |= {t.id: self._described[t.id].observation for t in suspects if t.id in self._described}
        wedged = {}
        for tenant in tenants:
            assessment = assess(tenant, observed[tenant.id], now=now, limits=self.limits)
            if assessment.situation.wedged:
                wedged[tenant.id] = assessment
        return Sweep(wedged, len(tenants), len(due))

    def _from_listing(self, tenant: Tenant, running: set[str], now: datetime) -> RunObservation | None:
        if tenant.handle is None:
            return None
        if tenant.handle.workflow_id in running or self._just_started(tenant, now):
            return LISTED_RUNNING  # visibility lags a fresh start by about a second
        return NOT_LISTED

    async def _ask_about_missing(self, missing: list[Tenant], observed: dict[str, RunObservation | None]) -> None:
        """One visibility call: closed runs get their status, runs the engine does not know are orphaned."""
        if not missing:
            return
        handles = [t.handle for t in missing if t.handle is not None]
        statuses = await self.engine.run_statuses(handles)
        for tenant in missing:
            assert tenant.handle is not None
            status = statuses.get(tenant.handle.workflow_id)
            if status is None:
                observed[tenant.id] = NOT_FOUND
            else:
                observed[tenant.id] = LISTED_RUNNING if status is RunStatus.RUNNING else RunObservation(status)

    def _just_started(self, tenant: Tenant, now: datetime) -> bool:
        return tenant.last_progress_at is not None and now - tenant.last_progress_at < self.visibility_grace

    def _suspicious(self, tenant: Tenant, now: datetime) -> bool:
        """Anything but clear progress: the row alone cannot tell slow-but-alive from wedged."""
        return assess(tenant, LISTED_RUNNING, now=now, limits=self.limits).situation is not MAKING_PROGRESS

    def _fresh(self, tenant: Tenant, now: datetime) -> bool:
        kept = self._described.get(tenant.id)
        if kept is None or now - kept.at >= self.describe_ttl:
            return False
        return assess(tenant, kept.observation, now=now, limits=self.limits).situation is kept.situation

    def _priority(self, tenant: Tenant) -> tuple[bool, datetime]:
        kept = self._described.get(tenant.id)
        return (kept is not None, kept.at if kept else tenant.last_progress_at or tenant.created_at)

    async def _describe(self, tenant: Tenant) -> RunObservation | None:
        assert tenant.handle is not None
        async with self._gate:
            try:
                return await self.engine.describe(tenant.handle)
            except EngineError:
                return None  # keep the listing's answer; the next tick describes it again
