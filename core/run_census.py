"""What the wedge finder asks the engine about runs, so that the cost grows with suspects and with runs
that closed, not with the healthy runs in flight.

Three questions, each a visibility call (the engine port is bounded: READ_TIMEOUT each, core/bounded.py):

- `closed_since`: the provisioning runs that closed since the last sweep, by the engine's CloseTime,
  from the last sweep's time minus `overlap` (visibility lags a close by about a second; the overlap
  also covers clock skew between the bot and the engine). This is how a healthy-looking row whose run
  was terminated or failed behind the bot's back is found at the next sweep.
- `statuses`: the runs of given handles, in `WorkflowId IN` batches of 1,000: a count of their running
  runs first (a workflow has at most one), and only a batch whose count falls short is listed, which
  tells closed runs (and how) from runs the engine does not know (orphaned). A census of the suspects
  is one small count per 1,000; a reconcile of every in-flight handle costs one count per 1,000 handles
  when all run, which is the common case.
- when a reconcile is due (`reconcile_every`, and at the first sweep): runs deleted from the engine (a
  cluster reset) never show up as closed, so only asking about every handle finds them while their rows
  still look healthy.

Batches are asked one after another, not at once: visibility is rate limited per namespace on real
clusters, and one tick must not starve `/tenant`'s describes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.domain import ClosedRun, InFlightRef, RunHandle, RunStatus
from core.ports import WorkflowEngine

BATCH = 1000  # workflow ids per visibility call: about 30 KB of query; on the dev server, counting 10,000
# ids costs 1.6x as much in batches of 500 as of 1,000
RECONCILE_EVERY = timedelta(minutes=5)
CLOSED_OVERLAP = timedelta(minutes=1)


@dataclass(frozen=True)
class Answer:
    """What the engine said about the run `handle` names in this sweep (NOT_FOUND: it does not know it)."""

    handle: RunHandle
    status: RunStatus


class RunCensus:
    def __init__(
        self,
        engine: WorkflowEngine,
        *,
        reconcile_every: timedelta = RECONCILE_EVERY,
        overlap: timedelta = CLOSED_OVERLAP,
    ) -> None:
        self.engine = engine  # bounded: each call named and timed on its own
        self.reconcile_every, self.overlap = reconcile_every, overlap
        self._checked: datetime | None = None  # closures up to this sweep's time have been seen
        self._reconciled: datetime | None = None

    def reconcile_due(self, now: datetime) -> bool:
        return self._reconciled is None or now - self._reconciled >= self.reconcile_every

    async def closed_since_last(self) -> Sequence[ClosedRun]:
        """The runs closed since the last sweep; none at the first, which asks about every handle anyway."""
        if self._checked is None:
            return []
        return await self.engine.closed_since(self._checked - self.overlap)

    async def statuses(self, refs: Sequence[InFlightRef], gone: Mapping[str, RunHandle]) -> dict[str, Answer]:
        """The status of each ref's run, by tenant id (refs without a handle are skipped). `gone` holds the
        runs that were gone at the last look, by tenant: a count short by just those needs no listing."""
        asked = [(r.tenant_id, handle) for r in refs if (handle := r.handle) is not None]
        answers: dict[str, Answer] = {}
        for start in range(0, len(asked), BATCH):
            batch = asked[start : start + BATCH]
            handles = [handle for _, handle in batch]
            running = await self.engine.count_running(handles)
            workflows = len({h.workflow_id for h in handles})
            still_gone = {tenant_id for tenant_id, handle in batch if gone.get(tenant_id) == handle}
            listed: dict[str, RunStatus] = {}
            if running == workflows:
                still_gone = set()
            elif running != workflows - len(still_gone):  # something else stopped running: list to see what
                listed = await self.engine.run_statuses(handles)
                still_gone = {tenant_id for tenant_id, h in batch if h.workflow_id not in listed}
            for tenant_id, handle in batch:
                gone_now = RunStatus.NOT_FOUND if tenant_id in still_gone else RunStatus.RUNNING
                answers[tenant_id] = Answer(handle, listed.get(handle.workflow_id, gone_now))
        return answers

    def seen(self, now: datetime, *, reconciled: bool) -> None:
        """A sweep at `now` succeeded: closures before it are known, and every handle was asked if `reconciled`."""
        self._checked = now
        if reconciled:
            self._reconciled = now
