"""A preview's submission (Reset, Cancel, Decommission confirmed with a reason): one core call that runs it
now or, for an action that takes two people, records the request another person approves.

Which actions take two people is decided here, not in the chat adapter: Decommission cannot be undone,
so from the chat it is a request (core/approvals.py); the others run at once through the same press as
a button (core/presses.py), re-checked against what the card showed. The command line does not come
through here: it is the break-glass path and acts at once.
"""

from __future__ import annotations

from core.approvals import ApprovalResult, Approvals
from core.domain import Action
from core.presses import Presses
from core.results import ActionResult
from core.seen import Seen

TWO_PERSON = frozenset({Action.DECOMMISSION})


class Submissions:
    def __init__(self, presses: Presses, approvals: Approvals) -> None:
        self.presses, self.approvals = presses, approvals

    async def submit(
        self, action: Action, seen: Seen, user: str, *, reason: str, origin: str | None, request_key: str
    ) -> ActionResult | ApprovalResult:
        """Run `action` on the run `seen` showed, or ask a second person (the request is posted in `origin`,
        the channel it came from) once the same checks as the preview's pass again: an out-of-date card, the
        freeze, the situation. Raises TenantNotFound or StoreError as a press does."""
        if action in TWO_PERSON:
            checked = await self.presses.preview(action, seen, user)  # the card may be out of date by now
            if isinstance(checked, ActionResult):
                return checked  # refused (and audited) as the press would be
            return await self.approvals.request(seen.tenant_id, user, reason, origin, request_key)
        return await self.presses.press(action, seen.tenant_id, user, request_key=request_key, seen=seen, reason=reason)
