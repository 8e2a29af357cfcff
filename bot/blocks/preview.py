"""The preview modal of Reset, Cancel and Decommission: exactly what will happen to this tenant, and a reason.

The words are the core's (core/previews.py: the run terminated or cancelled, the allocations kept or
released, the state it ends in, what will not happen); this module only lays them out, escaped and cut
like every text from data, within a modal's limits (title and buttons 24 characters, 3,000 per section,
100 blocks). The reason is a required input of at most 500 characters; `reason_of` reads it back from a
submission and `reason_error` is the field error a bad one gets (`response_action: errors`).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.common import md
from bot.payload import dig
from bot.text import code, cut, listing, safe
from core.domain import Action
from core.freeze import MAX_REASON
from core.previews import Preview
from core.seen import situation_note

CALLBACK_ID = "tenant_action_preview"
REASON_BLOCK, REASON_INPUT = "reason", "reason_input"
SUBMIT = {Action.RESET: "Reset", Action.CANCEL: "Cancel the run", Action.DECOMMISSION: "Decommission"}


def preview_modal(preview: Preview, metadata: str) -> View:
    """The modal for `preview`; `metadata` is what the submission needs back (bot/seen_values.py)."""
    action, seen, not_done = preview.action, preview.seen, preview.effect.not_done
    name = action.value.capitalize()
    blocks: list[Block] = [
        SectionBlock(text=md(f"*{name} {code(seen.tenant_id, 70)}*: what will happen to this tenant")),
        SectionBlock(fields=[md(cut(field, 2000)) for field in _fields(preview)]),
        SectionBlock(text=md(cut("*Allocations*\n" + _allocations(preview), 3000))),
        SectionBlock(text=md(cut("*What will not happen*\n" + "\n".join(f"• {n}" for n in not_done), 3000))),
    ]
    if (note := situation_note(seen, preview.situation)) is not None:
        blocks.append(ContextBlock(elements=[md(f":information_source: {safe(note, 500)}")]))
    blocks += [
        DividerBlock(),
        InputBlock(
            block_id=REASON_BLOCK,
            label="Reason",
            hint="Recorded in the audit feed and given to Temporal with the action. Up to 500 characters.",
            element=PlainTextInputElement(
                action_id=REASON_INPUT, multiline=True, max_length=MAX_REASON, placeholder="Why, for the record"
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=cut(f"{name} {seen.tenant_id}", 24),
        submit=SUBMIT[action],
        close="Keep it",
        blocks=blocks,
        private_metadata=metadata,
    )


def _fields(preview: Preview) -> list[str]:
    run, effect = preview.run, preview.effect
    shown = "—"
    if run is not None:
        shown = f"{code(run.workflow_id, 120)}\nrun {code(run.run_id or 'not yet accepted', 60)}\nattempt {run.attempt}"
    ends = f"*{effect.ends_in}*" + (f" (through {effect.passes_through})" if effect.passes_through else "")
    fields = [f"*Run*\n{shown}", f"*The run is*\n{safe(preview.run_fate, 300)}", f"*Ends in*\n{ends}"]
    if preview.starts is not None:
        fields.append(f"*Starts*\n{code(preview.starts.workflow_id, 120)}")
    return fields


def _allocations(preview: Preview) -> str:
    if preview.allocations is None:
        return f":warning: could not be read; every allocation the tenant holds is {preview.effect.allocations}"
    if not preview.allocations:
        return "none: the tenant holds no allocation"
    verb = preview.effect.allocations.value  # kept or released
    items = [f"{safe(a.kind, 40)} {code(a.resource_id, 120)}" for a in preview.allocations]
    return f"{len(items)} {verb}:\n• " + listing(items, 2700, separator="\n• ")


def reason_of(view: Any) -> str:
    """The reason typed in a submitted preview ("" when missing or not text)."""
    value = dig(view, "state", "values", REASON_BLOCK, REASON_INPUT, "value")
    return value if isinstance(value, str) else ""


def field_errors(message: str) -> dict[str, Any]:
    """The answer to a submission that must stay open: the message under the reason field."""
    return {"response_action": "errors", "errors": {REASON_BLOCK: cut(message, 150)}}
