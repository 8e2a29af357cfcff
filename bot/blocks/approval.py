"""A Decommission request in Slack (core/approvals.py): the message asking another person to approve or deny
it, edited in place to show what became of it (approved by whom and what the decommission answered, denied,
expired), and the presser's private answers.

The message is posted in the channel the request came from (or the alert channel), so the people who
may approve see it; the buttons name the request in their block (`approval:<id>:<tenant>`) and value (the
id), and the listener checks one against the other. Reasons and actors are data: escaped and cut.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject, ContextBlock, SectionBlock

from bot.blocks.common import actor, md
from bot.replies import EPHEMERAL
from bot.text import code, cut, safe
from core.actions import STEPS
from core.approval_requests import DecommissionRequest, RequestState
from core.approvals import ApprovalResult
from core.domain import Action
from core.results import Outcome

BLOCK = "approval:{}:{}"  # request id, tenant id
APPROVE, DENY = "approval_approve", "approval_deny"


def moment(at: Any) -> str:
    """A time in the reader's time zone (UTC in the fallback)."""
    return f"<!date^{int(at.timestamp())}^{{time}}|{at:%H:%M} UTC>"


def header(asked: DecommissionRequest) -> list[Block]:
    reason = f"*Reason:* {safe(asked.reason, 600)}" if asked.reason else "*Reason:* _none given_"
    text = f":warning: {actor(asked.requester)} asks to *Decommission* {code(asked.tenant_id, 80)}.\n{reason}"
    return [SectionBlock(text=md(text)), ContextBlock(elements=[md(cut(STEPS[Action.DECOMMISSION].confirm, 300))])]


def request_message(asked: DecommissionRequest) -> dict[str, Any]:
    """The request as posted: who asks, why, until when, with Approve and Deny."""
    assert asked.id is not None
    until = (
        f"Another person allowed to Decommission may approve it until {moment(asked.expires_at)}; "
        "the requester cannot approve their own request."
    )
    approve = ButtonElement(
        text="Approve",
        action_id=APPROVE,
        value=str(asked.id),
        style="danger",
        confirm=ConfirmObject(
            title=cut(f"Decommission {asked.tenant_id}?", 100),
            text=cut(STEPS[Action.DECOMMISSION].confirm, 300),
            confirm="Approve and decommission",
            deny="Not now",
            style="danger",
        ),
    )
    deny = ButtonElement(text="Deny", action_id=DENY, value=str(asked.id))
    blocks = [
        *header(asked),
        SectionBlock(text=md(until)),
        ActionsBlock(block_id=BLOCK.format(asked.id, asked.tenant_id), elements=[approve, deny]),
    ]
    return {"text": text_of(asked), "blocks": [b.to_dict() for b in blocks]}


def decided_message(asked: DecommissionRequest, result: ApprovalResult | None = None) -> dict[str, Any]:
    """The request once decided, without buttons: approved (and what the decommission answered), denied, expired."""
    line = outcome_line(asked, result)
    blocks = [*header(asked), SectionBlock(text=md(line))]
    return {"text": f"{text_of(asked)}: {asked.state.value}", "blocks": [b.to_dict() for b in blocks]}


def outcome_line(asked: DecommissionRequest, result: ApprovalResult | None) -> str:
    at = moment(asked.decided_at) if asked.decided_at else "earlier"
    match asked.state:
        case RequestState.APPROVED:
            ran = result.action if result is not None else None
            if ran is not None:
                done = {Outcome.DONE: ":white_check_mark:", Outcome.DUPLICATE: ":white_check_mark:"}
                icon = done.get(ran.outcome, ":x:")
                answer = f"{icon} {ran.outcome.value}: {safe(ran.message, 600)}"
            else:  # shown later: what was recorded (done, refused, failed, completed)
                ok = (asked.outcome or "").startswith(("done", "completed"))
                answer = f"{':white_check_mark:' if ok else ':x:'} {safe(asked.outcome or 'running', 600)}"
            return f"Approved by {actor(asked.decided_by or '')} at {at} — {answer}"
        case RequestState.DENIED:
            return f":no_entry_sign: Denied by {actor(asked.decided_by or '')} at {at}; nothing ran."
        case RequestState.EXPIRED:
            return f":hourglass: Expired at {moment(asked.expires_at)}: nobody approved it in time; nothing ran."
        case _:
            return "Waiting for approval."


def text_of(asked: DecommissionRequest) -> str:
    return safe(f"Decommission of {asked.tenant_id} requested by {asked.requester}", 300)


def private(result: ApprovalResult, what: str, posted_in: str | None = None) -> dict[str, Any]:
    """An answer for the presser only: `what` they pressed, the outcome and the core's answer (as a card's
    press is answered), and where the request was posted for approval."""
    where = f" Posted for approval in <#{posted_in}>." if posted_in else ""
    said = safe(result.message.rstrip("."), 1200)
    return {"text": f"*{what}*: {result.outcome.value} — {said}.{where}", **EPHEMERAL}


def not_posted(asked: DecommissionRequest, problem: str) -> dict[str, Any]:
    return {
        "text": (
            f":warning: Decommission of {code(asked.tenant_id, 80)} requested, but the request could not be posted "
            f"for approval ({safe(problem, 300)}): nobody can approve it, so nothing runs and it expires at "
            f"{moment(asked.expires_at)}."
        ),
        **EPHEMERAL,
    }
