"""Finding wedged tenants at a cost that grows with in-flight tenants, not with all tenants.

One indexed query gives the in-flight rows and one engine listing gives the running runs. Each row is
first assessed from those alone; only the suspicious ones (not clearly making progress, or absent from
the running list) are described one by one, at most `describe_budget` per tick and highest-risk first. Beyond the
budget (a mass wedge after a cluster reset) a run absent from the listing is assessed as
`NOT_RUNNING`, which is wedged either way; the view of one tenant always describes it exactly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.decisions import Assessment, Limits, Situation, assess
from core.domain import OPEN_STATES, RunObservation, RunStatus, Tenant
from core.ports import EngineError, TenantStore, WorkflowEngine

LISTED_RUNNING = RunObservation(RunStatus.RUNNING)
NOT_LISTED = RunObservation(RunStatus.NOT_RUNNING)
MAKING_PROGRESS = Situation.MAKING_PROGRESS


@dataclass(frozen=True)
class Sweep:
    wedged: dict[str, Assessment]
    in_flight: int
    described: int


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
    ) -> None:
        self.store, self.engine, self.limits = store, engine, limits
        self.describe_budget, self.visibility_grace = describe_budget, visibility_grace
        self._gate = asyncio.Semaphore(describe_concurrency)

    async def sweep(self, now: datetime) -> Sweep:
        tenants = [t for t in await self.store.in_flight() if t.state in OPEN_STATES]
        running = {run.workflow_id for run in await self.engine.list_running()}
        first: dict[str, RunObservation | None] = {t.id: self._from_listing(t, running, now) for t in tenants}
        suspects = sorted(
            (t for t in tenants if t.handle is not None and self._suspicious(t, first[t.id], now)),
            key=lambda t: t.last_progress_at or t.created_at,
        )[: self.describe_budget]
        described = await asyncio.gather(*(self._describe(t) for t in suspects))
        observed = first | {t.id: run for t, run in zip(suspects, described, strict=True) if run is not None}
        wedged = {}
        for tenant in tenants:
            assessment = assess(tenant, observed[tenant.id], now=now, limits=self.limits)
            if assessment.situation.wedged:
                wedged[tenant.id] = assessment
        return Sweep(wedged, len(tenants), len(suspects))

    def _from_listing(self, tenant: Tenant, running: set[str], now: datetime) -> RunObservation | None:
        if tenant.handle is None:
            return None
        if tenant.handle.workflow_id in running or self._just_started(tenant, now):
            return LISTED_RUNNING  # visibility lags a fresh start by about a second
        return NOT_LISTED

    def _just_started(self, tenant: Tenant, now: datetime) -> bool:
        return tenant.last_progress_at is not None and now - tenant.last_progress_at < self.visibility_grace

    def _suspicious(self, tenant: Tenant, run: RunObservation | None, now: datetime) -> bool:
        """Anything but clear progress: the row alone cannot tell slow-but-alive from wedged."""
        return run is NOT_LISTED or assess(tenant, run, now=now, limits=self.limits).situation is not MAKING_PROGRESS

    async def _describe(self, tenant: Tenant) -> RunObservation | None:
        assert tenant.handle is not None
        async with self._gate:
            try:
                return await self.engine.describe(tenant.handle)
            except EngineError:
                return None  # keep the listing's answer; the next tick describes it again
