"""Two-person Decommission: one person asks, another allowed to Decommission approves, then it runs once.

Decommission cannot be undone, so from the chat it takes two people. `request` records who asks, for which
tenant and why (`decommission_requested`), after the same checks as a press: the requester may Decommission,
tenantbot is not frozen, the decision table allows Decommission now, and no other request for the tenant
awaits approval (two made at the same instant may both be recorded: the second one approved finds the
tenant decommissioning and is refused). `approve` by another person allowed to Decommission, within
APPROVAL_TTL, re-checks the tenant, uses the request up in one guarded write (`decommission_approved`: two
approvers pressing at once run it once) and runs the usual Decommission through `TenantService.act` under
the request's own key. The requester cannot approve their own request; an expired, denied or already-used
request cannot run; every refusal is audited as `action_refused`. `deny` (by the requester, or anyone
allowed to Decommission) closes it (`decommission_denied`). The command line is the break-glass path: it
decommissions at once (tenantbot/commands/tenants.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import events as ev
from core.approval_requests import (
    ApprovalStore,
    DecommissionRequest,
    RequestState,
)
from core.authz import Authorizer
from core.decisions import refusal
from core.domain import Action, AuditEvent, TenantState
from core.freeze import InvalidReason
from core.ports import StoreError
from core.previews import parse_action_reason
from core.results import ActionResult, Outcome, TenantNotFound
from core.service import TenantService

log = logging.getLogger(__name__)
DECOMMISSION = Action.DECOMMISSION
DEFAULT_TTL = timedelta(minutes=30)
FOLLOW_FOR = timedelta(days=1)  # how long an approved decommission is followed to its end for its message


@dataclass(frozen=True)
class ApprovalResult:
    """What a request, an approval or a denial did: `message` for the presser; `request` as it now is (None
    when there is none); `action` the decommission's own result when an approval ran it."""

    outcome: Outcome
    message: str
    request: DecommissionRequest | None = None
    action: ActionResult | None = None


class Approvals:
    def __init__(
        self,
        service: TenantService,
        authorizer: Authorizer,
        store: ApprovalStore,
        *,
        ttl: timedelta = DEFAULT_TTL,
        clock: Callable[[], datetime],
    ) -> None:
        self.service, self.authorizer, self.store = service, authorizer, store  # a bounded store (core/bounded.py)
        self.ttl, self.clock = ttl, clock

    async def request(
        self, tenant_id: str, requester: str, reason: str | None, origin_channel: str | None, request_key: str
    ) -> ApprovalResult:
        """Ask for a Decommission of `tenant_id`; `reason` None when the entry point collected none.
        Raises TenantNotFound (nothing recorded) or StoreError."""
        try:
            why = parse_action_reason(reason, DECOMMISSION) if reason is not None else None
        except InvalidReason as e:
            return ApprovalResult(Outcome.REFUSED, str(e))
        if (denied := await self.authorizer.refusal(DECOMMISSION, requester)) is not None:
            return await self._refused(tenant_id, requester, denied.reason)
        if (blocked := await self._blocked(tenant_id)) is not None:
            return await self._refused(tenant_id, requester, blocked)
        now = self.clock()
        if (waiting := await self.store.open_for(tenant_id, now)) is not None and waiting.request_key != request_key:
            return ApprovalResult(Outcome.REFUSED, self.awaiting(waiting), waiting)
        asked = DecommissionRequest(tenant_id, requester, why, origin_channel, now, now + self.ttl, request_key)
        stored, new = await self.store.add(asked, lambda r: [self._event(r, ev.DECOMMISSION_REQUESTED, requester)])
        if not new:
            return ApprovalResult(Outcome.DUPLICATE, "this request was already recorded", stored)
        log.info("decommission of %s requested by %s (request %s)", tenant_id, requester, stored.id)
        asked_for = f"Decommission of {tenant_id} requested; another person allowed to Decommission must approve it"
        return ApprovalResult(Outcome.DONE, asked_for, stored)

    async def approve(self, request_id: int, approver: str, request_key: str) -> ApprovalResult:
        """Approve and run the request as `approver`, once. Raises StoreError (nothing ran)."""
        asked = await self.store.get(request_id)
        if asked is None:
            return ApprovalResult(Outcome.REFUSED, f"there is no Decommission request {request_id}")
        assert asked.id is not None
        if asked.state is not RequestState.PENDING:
            return await self._used(asked, approver, request_key)
        if approver == asked.requester:
            own = "you asked for this Decommission: another person allowed to Decommission must approve it"
            return await self._refused(asked.tenant_id, approver, own, asked)
        if (denied := await self.authorizer.refusal(DECOMMISSION, approver)) is not None:
            return await self._refused(asked.tenant_id, approver, denied.reason, asked)
        now = self.clock()
        if asked.expired(now):
            return await self._expire(asked, approver, now)
        try:
            blocked = await self._blocked(asked.tenant_id)
        except TenantNotFound as e:
            blocked = str(e)
        if blocked is not None:
            return await self._refused(asked.tenant_id, approver, blocked, asked)
        # this approval's own key: one approval wins the guarded write below, and its press, redelivered, is
        # a duplicate (`_used`, or here after a reopen); an approval after a reopen is another one, so it runs
        key = f"decommission-request:{request_id}:{request_key}"
        if await self.service.store.seen_request(key):
            return ApprovalResult(Outcome.DUPLICATE, "this approval was already handled; nothing ran twice", asked)
        approved = self._event(asked, ev.DECOMMISSION_APPROVED, approver)
        if not await self.store.decide(request_id, RequestState.APPROVED, approver, now, [approved], key=request_key):
            fresh = await self.store.get(request_id)
            return await self._used(fresh or asked, approver, request_key)
        details = {"approval_request": request_id, "requested_by": asked.requester, "reason": asked.reason}
        result = await self.service.act(DECOMMISSION, asked.tenant_id, approver, request_key=key, details=details)
        if result.outcome is Outcome.FAILED and await self._ran_nothing(asked, now):
            return await self._reopen(asked, approver, request_key, result)
        finishing = result.outcome is Outcome.DONE  # the engine finishes it: `finished` follows it to the end
        try:
            outcome = f"{result.outcome.value}: {result.message}"
            await self.store.record_outcome(request_id, outcome, None if finishing else self.clock())
        except StoreError as e:
            log.warning("outcome of decommission request %s not recorded: %s", request_id, e)
        final = await self._fresh(request_id, asked)
        return ApprovalResult(result.outcome, result.message, final, result)

    async def deny(self, request_id: int, user: str) -> ApprovalResult:
        """Close the request unused: by its requester (withdrawn) or anyone allowed to Decommission."""
        asked = await self.store.get(request_id)
        if asked is None:
            return ApprovalResult(Outcome.REFUSED, f"there is no Decommission request {request_id}")
        assert asked.id is not None
        if asked.state is not RequestState.PENDING:
            return ApprovalResult(Outcome.REFUSED, self.decided(asked), asked)
        if user != asked.requester and (denied := await self.authorizer.refusal(DECOMMISSION, user)) is not None:
            return ApprovalResult(Outcome.REFUSED, denied.reason, asked)
        now = self.clock()
        if asked.expired(now):
            await self.store.decide(asked.id, RequestState.EXPIRED, user, now, [])
            expired = await self._fresh(asked.id, asked)
            return ApprovalResult(Outcome.REFUSED, self.decided(expired), expired)
        denial = self._event(asked, ev.DECOMMISSION_DENIED, user)
        if not await self.store.decide(asked.id, RequestState.DENIED, user, now, [denial]):
            fresh = await self._fresh(asked.id, asked)
            return ApprovalResult(Outcome.REFUSED, self.decided(fresh), fresh)
        denied_now = await self._fresh(asked.id, asked)
        return ApprovalResult(Outcome.DONE, f"Decommission of {asked.tenant_id} denied", denied_now)

    async def posted(self, request_id: int, channel: str, ts: str) -> None:
        """Remember where the request was posted (a lost write only means its message is not edited at expiry)."""
        try:
            await self.store.record_message(request_id, channel, ts)
        except StoreError as e:
            log.warning("where decommission request %s was posted is not recorded: %s", request_id, e)

    async def expire_due(self, limit: int = 50) -> list[DecommissionRequest]:
        """Expire the requests nobody approved within APPROVAL_TTL (the schedule's chore); the ones it
        expired, so their messages can say so. Raises StoreError."""
        return await self.store.expire_due(self.clock(), limit)

    async def finished(self, limit: int = 50) -> list[DecommissionRequest]:
        """The approved requests whose decommission the engine has finished since the last look (followed for
        FOLLOW_FOR after approval), recorded so each is reported once: the schedule's chore edits their
        messages. Raises StoreError."""
        now, done = self.clock(), []
        for asked in await self.store.unfinished(now - FOLLOW_FOR, limit):
            assert asked.id is not None
            try:  # the row's state is all it needs: no engine call per request followed
                tenant = await self.service.store.get(asked.tenant_id)
            except StoreError as e:
                log.info("decommission request %s: its tenant could not be read (%s); looking again later", asked.id, e)
                continue
            if tenant is not None and tenant.state is TenantState.DECOMMISSIONED:
                ended = await self.store.finish(asked.id, "completed: the tenant is decommissioned", now)
                done += [ended] if ended is not None else []
        return done

    def awaiting(self, asked: DecommissionRequest) -> str:
        """Why a second request for the same tenant is not recorded while one awaits approval."""
        return (
            f"a Decommission of {asked.tenant_id} already awaits approval: requested by {asked.requester} at "
            f"{asked.requested_at:%H:%M} UTC, open until {asked.expires_at:%H:%M} UTC"
        )

    def decided(self, asked: DecommissionRequest) -> str:
        """Why a request that is no longer pending cannot run."""
        at = f"{asked.decided_at:%H:%M} UTC" if asked.decided_at else "earlier"
        if asked.state is RequestState.APPROVED:
            return f"this request was already approved by {asked.decided_by} at {at}; it runs once"
        if asked.state is RequestState.DENIED:
            return f"this request was denied by {asked.decided_by} at {at}; it cannot run"
        expired = f"{asked.expires_at:%H:%M} UTC"
        return f"this request expired at {expired} (APPROVAL_TTL); request the Decommission again"

    # -- the steps ---------------------------------------------------------------------------------

    async def _blocked(self, tenant_id: str) -> str | None:
        """Why Decommission cannot run now: frozen (a switch that cannot be read refuses), or the decision
        table. Raises TenantNotFound, StoreError."""
        freeze = await self.service.switch.state()
        if freeze is not None:
            return freeze.refusal(self.clock())
        view = await self.service.view(tenant_id)
        if not view.assessment.allows(DECOMMISSION):
            return refusal(DECOMMISSION, view.assessment)
        return None

    async def _ran_nothing(self, asked: DecommissionRequest, now: datetime) -> bool:
        """Whether a failed Decommission left the tenant as it was, with nothing under way (the engine refused
        or did not answer the start; a half-done one keeps its claim until recovery settles it), while the
        request still has time: then it may be approved again."""
        if asked.expired(now):
            return False
        try:
            tenant = await self.service.store.get(asked.tenant_id)
        except StoreError:
            return False
        return tenant is not None and tenant.claim is None and tenant.state is not TenantState.DECOMMISSIONING

    async def _reopen(
        self, asked: DecommissionRequest, approver: str, request_key: str, failed: ActionResult
    ) -> ApprovalResult:
        """Open the request again after its approval ran nothing: nobody has to ask again once the engine
        answers. Its expiry stays; the failure is in the audit feed (`decommission_failed`) and here."""
        assert asked.id is not None
        until = f"{asked.expires_at:%H:%M} UTC"
        outcome = f"failed: {failed.message}; open for approval again until {until}"
        event = self._event(asked, ev.DECOMMISSION_REOPENED, approver)
        try:
            reopened = await self.store.reopen(asked.id, request_key, outcome, [event])
        except StoreError as e:
            log.warning("decommission request %s not reopened after a failed approval: %s", asked.id, e)
            reopened = False
        fresh = await self._fresh(asked.id, asked)
        if not reopened:
            return ApprovalResult(failed.outcome, failed.message, fresh, failed)
        again = f"{failed.message}. Nothing ran, so the request is open again: approve it once that is fixed"
        again += f" (until {until})"
        return ApprovalResult(failed.outcome, again, fresh, failed)

    async def _used(self, asked: DecommissionRequest, approver: str, request_key: str) -> ApprovalResult:
        """An approval of a request no longer pending: a redelivered press is a duplicate, anything else refused."""
        assert asked.id is not None
        if asked.state is RequestState.APPROVED and await self.store.decided_by_key(asked.id, request_key):
            return ApprovalResult(Outcome.DUPLICATE, "this approval was already handled; nothing ran twice", asked)
        return await self._refused(asked.tenant_id, approver, self.decided(asked), asked)

    async def _expire(self, asked: DecommissionRequest, approver: str, now: datetime) -> ApprovalResult:
        assert asked.id is not None
        await self.store.decide(asked.id, RequestState.EXPIRED, approver, now, [])
        fresh = await self._fresh(asked.id, asked)
        return await self._refused(asked.tenant_id, approver, self.decided(fresh), fresh)

    async def _refused(
        self, tenant_id: str, actor: str, reason: str, asked: DecommissionRequest | None = None
    ) -> ApprovalResult:
        """Audit the refusal on the tenant (`action_refused`, with the request when there is one) and answer it.
        Raises TenantNotFound for a tenant that does not exist (nothing to refuse, nothing recorded)."""
        if asked is None and await self.service.store.get(tenant_id) is None:
            raise TenantNotFound(tenant_id)
        details: dict[str, object] = {"action": DECOMMISSION.value, "reason": reason}
        if asked is not None:
            details["approval_request"] = asked.id
        try:
            await self.service.store.append([AuditEvent(tenant_id, ev.ACTION_REFUSED, actor, self.clock(), details)])
        except StoreError as e:
            log.warning("audit of a refused decommission of %s lost: %s", tenant_id, e)
        return ApprovalResult(Outcome.REFUSED, reason, asked)

    async def _fresh(self, request_id: int, fallback: DecommissionRequest) -> DecommissionRequest:
        try:
            return await self.store.get(request_id) or fallback
        except StoreError:
            return fallback

    def _event(self, asked: DecommissionRequest, kind: str, actor: str) -> AuditEvent:
        details: dict[str, object] = {"approval_request": asked.id, "requested_by": asked.requester}
        if kind == ev.DECOMMISSION_REQUESTED:
            details |= {"reason": asked.reason, "expires_at": asked.expires_at.isoformat()}
            details |= {"channel": asked.origin_channel} if asked.origin_channel else {}
        else:
            details["reason"] = asked.reason
        return AuditEvent(asked.tenant_id, kind, actor, self.clock(), details)
