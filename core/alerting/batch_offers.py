"""A digest's batch offers: "Reset all N" and "Reset and Retry all N" pressed, previewed, started, stopped.

Which groups get the buttons, and what a batch would do, is core/alerting/batch_groups.py. A button
carries only the digest's id and the group's `cause_key` (a short digest of situation, step and error);
everything else is re-derived here when it is pressed and again when the preview is submitted: the
group is looked up among the digest's members as they are now (the preview reads no more, to open
within the press's 3 s trigger), and the submission's members are the wedged tenants of that cause the
finder sees then (`core.batches.select`, which leaves out the ones that wedged again), so a stale
button cannot act on what the message no longer shows.

Authorization is the batch's actions' (both allow-lists for Reset and Retry) and the freeze refuses.
A submission is started once: its request key (the modal's view id) is claimed as a lease held for a
day (`REQUEST_HELD`) by that one submission, so a submission Slack delivers twice starts one batch.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import events as ev
from core.alerting.batch_groups import BatchOffer, Refused, cause_key, offered
from core.alerting.ports import AlertStore
from core.authz import Authorizer
from core.batch_pace import got_past
from core.batch_runner import BatchRunner
from core.batches import Batch, BatchStatus, Kind, MemberStatus, NewBatch, select
from core.domain import Action, AuditEvent
from core.freeze import Switch
from core.ports import Leases
from core.wedged import WedgeFinder

log = logging.getLogger(__name__)
OFFERED_KINDS = (Kind.RESET, Kind.RESET_RETRY)
REQUEST_HELD = timedelta(days=1)
GONE = "That group is no longer in the digest (its tenants resolved or moved on), so no batch was started."
NONE_LEFT = "No tenant of that group is still wedged for the same cause, so no batch was started."


@dataclass(frozen=True)
class Started:
    batch: Batch
    offer: BatchOffer


class BatchOffers:
    def __init__(
        self,
        alerts: AlertStore,
        finder: WedgeFinder,
        runner: BatchRunner,
        authorizer: Authorizer,
        switch: Switch,
        leases: Leases,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.alerts, self.finder, self.runner, self.authorizer = alerts, finder, runner, authorizer
        self.switch, self.leases, self.clock = switch, leases, clock

    async def offer(
        self, digest_id: int, key: str, kind: Kind, user: str, *, sweep: bool = False
    ) -> BatchOffer | Refused:
        """The batch a digest's button would start, re-derived now; or why not. Raises StoreError, EngineError.

        For the preview (`sweep` False) the members are the group's as the digest's alerts hold them: one
        database read, so the modal opens within the press's 3 s trigger even for 500 tenants. To start
        the batch (`sweep` True) they are the wedged tenants of that cause the finder sees at that moment."""
        if kind not in OFFERED_KINDS:
            return Refused("tenantbot offers no such batch")
        if (refusal := await self._refusal(kind, user)) is not None:
            return refusal
        digest = await self.alerts.digest(digest_id)
        if digest is None:
            return Refused(GONE)
        groups = offered(digest, await self.alerts.digest_members(digest_id))
        chosen = next((g for g in groups if cause_key(g.cause) == key), None)
        if chosen is None:
            return Refused(GONE)
        cause = chosen.cause
        if not sweep:
            return BatchOffer(digest, kind, cause, tuple((t, cause.step) for t in chosen.members), 0)
        found = await self.finder.sweep(self.clock())
        selection = select(found.wedged, cause.situation, cause.step, cause.error)
        shown = set(chosen.members)
        members = tuple(m for m in selection.members if m[0] in shown)
        if not members:
            return Refused(NONE_LEFT)
        return BatchOffer(digest, kind, cause, members, sum(1 for t, _ in selection.excluded if t in shown))

    async def start(
        self,
        digest_id: int,
        key: str,
        kind: Kind,
        user: str,
        *,
        reason: str,
        rate: float,
        canary: int,
        request_key: str,
    ) -> Started | Refused | None:
        """Start the batch (None: this request already started one). Everything is checked again."""
        offer = await self.offer(digest_id, key, kind, user, sweep=True)
        if isinstance(offer, Refused):
            return offer
        claim = "batch-request:" + hashlib.sha256(request_key.encode()).hexdigest()[:32]
        if not await self.leases.try_lock(claim, uuid.uuid4().hex, now=self.clock(), ttl=REQUEST_HELD):
            log.info("batch request %s was already started; not again", request_key)
            return None
        new = NewBatch(kind, offer.cause, reason, rate, canary, user, self.clock(), offer.members)
        return Started(await self.runner.create(new), offer)

    async def retries(self, batch: Batch) -> str | None:
        """ "retries: 120 past the step, 2 wedged again" for a batch with a Retry (None without): a done
        member still in flight is past the step it wedged at once its current step is later; one no longer
        in flight has finished; one the scan alerted on again since the batch began wedged again."""
        if Action.RETRY not in batch.kind.actions:
            return None
        done = await self.runner.batches.members(batch.id, MemberStatus.DONE)
        again = {a.tenant_id for a in await self.alerts.open_alerts() if a.opened_at >= batch.created_at}
        flying = {t.id: t for t in await self.runner.service.store.in_flight([m.tenant_id for m in done])}
        wedged = sum(1 for m in done if m.tenant_id in again)
        past = sum(
            1
            for m in done
            if m.tenant_id not in again
            and (m.tenant_id not in flying or got_past(flying[m.tenant_id].current_step, m.step, self.runner.steps))
        )
        return f"retries: {past} past the step, {wedged} wedged again"

    async def channel_of(self, digest_id: int) -> str | None:
        """The channel the digest was posted in (where a refused submitter is told privately)."""
        digest = await self.alerts.digest(digest_id)
        channel = (digest.message_ref or "").partition("/")[0] if digest is not None else ""
        return channel or None

    async def stop(self, batch_id: int, user: str) -> str:
        """Ask a running batch to stop after its member under way (the same people as may start it)."""
        batch = await self.runner.batches.get(batch_id)
        if batch is None:
            return f"There is no batch {batch_id}."
        if (refusal := await self._refusal(batch.kind, user, frozen_ok=True)) is not None:
            return refusal.reason
        if batch.status is not BatchStatus.RUNNING:
            return f"Batch {batch_id} has already ended ({batch.status.value})."
        asked = await self.runner.batches.request_stop(batch_id, user)
        if asked is None or asked.stop_requested_by != user:
            return f"Batch {batch_id}: someone else asked it to stop first."
        members = await self.runner.batches.members(batch_id)
        if members:  # the audit feed is per tenant: the stop is recorded on the batch's first member's
            details = {"batch": batch_id, "kind": batch.kind.value}
            await self.runner.service.store.append(
                [AuditEvent(members[0].tenant_id, ev.BATCH_STOP, user, self.clock(), details)]
            )
        return f"Batch {batch_id} stops after the member under way."

    async def _refusal(self, kind: Kind, user: str, *, frozen_ok: bool = False) -> Refused | None:
        for action in kind.actions:
            if (refusal := await self.authorizer.refusal(action, user)) is not None:
                return Refused(refusal.reason)
        if not frozen_ok and (freeze := await self.switch.state()) is not None:
            return Refused(freeze.refusal(self.clock()))
        return None
