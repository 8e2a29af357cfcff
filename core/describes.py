"""Describes of the wedge finder's suspects: bounded per sweep, never-described first, kept while current.

Only a describe shows a run's heartbeats and the errors the engine keeps retrying, and it costs one
call per run. So the suspects still running are described at most `budget` per sweep, never-described
first, then the longest-kept; an answer is kept until the row changes, `ttl` passes, or it would now
read as another situation (a heartbeat gone quiet since), so a stable wedge costs no describe after
its first sweep.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.decisions import Limits, Situation, assess
from core.domain import RunObservation, Tenant
from core.ports import EngineError, WorkflowEngine


@dataclass(frozen=True)
class Described:
    observation: RunObservation
    at: datetime
    row: tuple[object, ...]  # what of the row the answer was read against
    situation: Situation


def row_key(tenant: Tenant) -> tuple[object, ...]:
    """The row's facts that make an engine answer worth asking again (heartbeats alone do not)."""
    return (tenant.handle, tenant.state, tenant.last_progress_at, tenant.error, tenant.claim)


class Describes:
    def __init__(
        self,
        engine: WorkflowEngine,
        limits: Limits,
        *,
        budget: int,
        concurrency: int,
        ttl: timedelta,
    ) -> None:
        self.engine, self.limits, self.budget, self.ttl = engine, limits, budget, ttl  # a bounded engine
        self._gate = asyncio.Semaphore(concurrency)
        self._kept: dict[str, Described] = {}

    async def refresh(self, suspects: list[Tenant], now: datetime) -> int:
        """Describe the suspects whose kept answer is missing or stale, up to the budget; forget the rest.
        Returns how many were asked."""
        self._kept = {t.id: kept for t in suspects if (kept := self._kept.get(t.id)) and kept.row == row_key(t)}
        due = sorted((t for t in suspects if not self._fresh(t, now)), key=self._priority)[: self.budget]
        for tenant, run in zip(due, await asyncio.gather(*(self._describe(t) for t in due)), strict=True):
            if run is not None:
                situation = assess(tenant, run, now=now, limits=self.limits).situation
                self._kept[tenant.id] = Described(run, now, row_key(tenant), situation)
        return len(due)

    def kept(self, tenant_id: str) -> RunObservation | None:
        described = self._kept.get(tenant_id)
        return described.observation if described else None

    def _fresh(self, tenant: Tenant, now: datetime) -> bool:
        kept = self._kept.get(tenant.id)
        if kept is None or now - kept.at >= self.ttl:
            return False
        return assess(tenant, kept.observation, now=now, limits=self.limits).situation is kept.situation

    def _priority(self, tenant: Tenant) -> tuple[bool, datetime]:
        kept = self._kept.get(tenant.id)
        return (kept is not None, kept.at if kept else tenant.last_progress_at or tenant.created_at)

    async def _describe(self, tenant: Tenant) -> RunObservation | None:
        assert tenant.handle is not None
        async with self._gate:
            try:
                return await self.engine.describe(tenant.handle)
            except EngineError:
                return None  # keep the census's answer; the next sweep describes it again
