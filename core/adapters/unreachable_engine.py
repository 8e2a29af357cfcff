"""`UnreachableEngine`: the engine port for a process that could not reach the engine at start.

Read-only commands (`tenantbot tenant`, `tenants`) are what an operator reaches for when things are
broken, so they must still show what the database knows. Every call raises EngineError with the
cause, which the service turns into a degraded view ("could not read engine: …") with no actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn

from core.domain import ClosedRun, RunHandle, RunObservation, RunStatus
from core.ports import EngineError


class UnreachableEngine:
    def __init__(self, cause: str) -> None:
        self.cause = cause

    def _fail(self) -> NoReturn:
        raise EngineError(self.cause)

    async def ping(self) -> None:
        self._fail()

    async def describe(self, handle: RunHandle) -> RunObservation:
        self._fail()

    async def start(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        self._fail()

    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        self._fail()

    async def terminate(self, handle: RunHandle, reason: str) -> None:
        self._fail()

    async def decommission(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        self._fail()

    async def run_statuses(self, handles: Sequence[RunHandle]) -> dict[str, RunStatus]:
        self._fail()

    async def count_running(self, handles: Sequence[RunHandle]) -> int:
        self._fail()

    async def closed_since(self, after: datetime) -> Sequence[ClosedRun]:
        self._fail()
