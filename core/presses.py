"""What happens when an operator presses an action's button (Reset, Retry, Cancel, Decommission): one
core call for the chat adapter, and the buttons a viewer is offered.

A press, in order: the presser is authorized for that action (core/authz.py: the allow-lists, and the
directory for group entries; a directory that cannot answer refuses with "try again"); a refusal is
audited as `action_refused` with its reason, but only for a tenant that exists (TenantNotFound:
nothing to refuse, nothing recorded); an authorized press runs through `TenantService.act` under its
request key, which re-checks the situation at that moment and never runs one press twice. A press
carries what its message showed (core/seen.py), so it acts only on the run the presser saw. Reset,
Cancel and Decommission are previewed first (`preview`: the same checks, nothing claimed) and run with
the reason the presser gave (core/previews.py). The CLI
calls `act` directly: whoever runs it already holds the database and the engine. While tenantbot is
frozen, `act` refuses every press (core/freeze.py); freezing and unfreezing from the chat is for the
admin allow-list (the CLI's `tenantbot freeze` always can).
"""

from __future__ import annotations

from collections.abc import Iterable

from core.authz import Authorizer
from core.domain import Action
from core.freeze import SwitchOutcome, SwitchResult
from core.previews import Preview
from core.results import ActionResult
from core.seen import Seen
from core.service import TenantService


class Presses:
    def __init__(self, service: TenantService, authorizer: Authorizer) -> None:
        self.service, self.authorizer = service, authorizer

    async def press(
        self,
        action: Action,
        tenant_id: str,
        user: str,
        *,
        request_key: str,
        seen: Seen | None = None,
        reason: str | None = None,
    ) -> ActionResult:
        """Authorize `user`, then act on the run `seen` showed with `reason`, or record the refusal. Raises
        TenantNotFound (nothing recorded) or StoreError when a refused press's tenant cannot be read."""
        refusal = await self.authorizer.refusal(action, user)
        if refusal is not None:
            return await self.service.refuse(action, tenant_id, user, refusal.reason)
        return await self.service.act(action, tenant_id, user, request_key=request_key, seen=seen, reason=reason)

    async def preview(self, action: Action, seen: Seen, user: str) -> Preview | ActionResult:
        """What `action` would do, for `user` to confirm with a reason; or the refusal (authorization, the
        freeze, an out-of-date message, the situation), audited. Raises TenantNotFound or StoreError."""
        refusal = await self.authorizer.refusal(action, user)
        if refusal is not None:
            return await self.service.refuse(action, seen.tenant_id, user, refusal.reason)
        return await self.service.preview(action, seen, user)

    async def offered(self, allowed: Iterable[Action], viewer: str | None) -> tuple[Action, ...]:
        """Which of the `allowed` actions get a button on a card for `viewer` (None: for everyone)."""
        return await self.authorizer.offered(allowed, viewer)

    async def freeze(self, user: str, reason: str) -> SwitchResult:
        """Freeze tenantbot as `user`, if on the admin allow-list (REFUSED with why not). Raises StoreError."""
        if (refusal := await self.authorizer.admin_refusal(user)) is not None:
            return SwitchResult(SwitchOutcome.REFUSED, reason=refusal.reason)
        return await self.service.switch.freeze(user, reason)

    async def unfreeze(self, user: str) -> SwitchResult:
        """Lift the freeze as `user`, if on the admin allow-list (REFUSED with why not). Raises StoreError."""
        if (refusal := await self.authorizer.admin_refusal(user)) is not None:
            return SwitchResult(SwitchOutcome.REFUSED, reason=refusal.reason)
        return await self.service.switch.unfreeze(user)
