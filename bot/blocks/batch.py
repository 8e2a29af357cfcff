"""Block Kit for batches started from a digest: the buttons a cause group gets, the preview modal, and the
one progress message in the digest's thread.

The words are the core's (core/alerting/batch_offers.py: what will and will not happen, in the single
actions' words; core/batches.py: "312/470 reset, 3 refused, 0 failed"); this module lays them out,
escaped and cut within Slack's limits (button text 75 characters, modal title 24, 3,000 per section).
A button's value is `<digest id>:<cause key>`; the modal keeps `{"digest", "key", "kind"}` in its
private_metadata. Both are read back strictly (`offer_target`, `opened_batch`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.common import actor, md
from bot.blocks.preview import REASON_BLOCK, REASON_INPUT
from bot.payload import dig
from bot.seen_values import Tampered
from bot.text import code, cut, listing, safe
from core.alerting.batch_groups import BatchOffer, cause_key
from core.batches import Batch, BatchStatus, Kind, how_it_ended
from core.causes import Cause, Group, label
from core.freeze import MAX_REASON

OFFER_BLOCK = "batch_offer:{}"  # digest id
OFFER_ACTIONS = {Kind.RESET: "digest_batch_reset", Kind.RESET_RETRY: "digest_batch_reset_retry"}
NAMES = {Kind.RESET: "Reset", Kind.RESET_RETRY: "Reset and Retry"}
CALLBACK_ID = "batch_preview"
RATE_BLOCK, RATE_INPUT = "batch_rate", "batch_rate_input"
CANARY_BLOCK, CANARY_INPUT = "batch_canary", "batch_canary_input"
STOP = "batch_stop"
FIRST = 10  # members named in the preview
VALUE = re.compile(r"(?P<digest>[0-9]{1,18}):(?P<key>[0-9a-f]{12})")
FORGED = "this button or form is not one tenantbot drew (an old or altered message), so nothing ran"


def offer_block(digest_id: int, groups: list[Group]) -> ActionsBlock:
    """ "Reset all 7 orphaned at create_storage", "Reset and Retry all 7 …" for each offered group."""
    buttons = [
        ButtonElement(
            text=cut(f"{NAMES[kind]} all {len(g)} {label(g.cause)}".replace("`", ""), 75),
            action_id=OFFER_ACTIONS[kind],
            value=f"{digest_id}:{cause_key(g.cause)}",
        )
        for g in groups
        for kind in OFFER_ACTIONS
    ]
    return ActionsBlock(block_id=OFFER_BLOCK.format(digest_id), elements=buttons)


def offer_target(action: dict[str, Any]) -> tuple[int, str, Kind]:
    """(digest id, cause key, kind) of a pressed offer. Raises Tampered for anything `offer_block` did not draw."""
    kinds = {a: k for k, a in OFFER_ACTIONS.items()}
    match = VALUE.fullmatch(str(action.get("value", "")))
    kind = kinds.get(str(action.get("action_id", "")))
    if match is None or kind is None or action.get("block_id") != OFFER_BLOCK.format(int(match["digest"])):
        raise Tampered(FORGED)
    return int(match["digest"]), match["key"], kind


def batch_modal(offer: BatchOffer) -> View:
    kind, n = offer.kind, len(offer.members)
    names = listing([code(t, 70) for t, _ in offer.members[:FIRST]], 1500)
    more = f" and {n - FIRST} more" if n > FIRST else ""
    left_out = ""
    if offer.excluded:
        left_out = f"\n{offer.excluded} of this cause left out: they wedged again after a Reset and Retry."
    blocks: list[Block] = [
        SectionBlock(text=md(cut(f"*{NAMES[kind]} {n} tenants* {safe(label(offer.cause), 300)}", 3000))),
        SectionBlock(text=md(cut(f"*First:* {names}{more}{left_out}", 3000))),
        SectionBlock(text=md(cut("*What will happen to each*\n" + _bullets(offer.will()), 3000))),
        SectionBlock(text=md(cut("*What will not happen*\n" + _bullets(offer.will_not()), 3000))),
        ContextBlock(elements=[md("Each tenant is checked again when its turn comes; one that moved on is skipped.")]),
        DividerBlock(),
        InputBlock(
            block_id=REASON_BLOCK,
            label="Reason",
            hint="Recorded in every tenant's audit feed and given to Temporal with each action. Up to 500 characters.",
            element=PlainTextInputElement(
                action_id=REASON_INPUT, multiline=True, max_length=MAX_REASON, placeholder="Why, for the record"
            ),
        ),
        _number(RATE_BLOCK, RATE_INPUT, "Rate (tenants per second)", "5"),
    ]
    if kind is not Kind.RESET:
        hint = "Members done first; the rest wait until their retries get past the step they wedged at. 0: off."
        blocks.append(_number(CANARY_BLOCK, CANARY_INPUT, "Canary", str(kind.canary_default), hint))
    metadata = json.dumps({"digest": offer.digest.id, "key": cause_key(offer.cause), "kind": kind.value})
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=cut(f"{NAMES[kind]} all {n}", 24),
        submit=cut(f"{NAMES[kind]} {n}", 24),
        close="Keep them",
        blocks=blocks,
        private_metadata=metadata,
    )


def _number(block: str, action: str, title: str, initial: str, hint: str | None = None) -> InputBlock:
    element = PlainTextInputElement(action_id=action, initial_value=initial, max_length=10)
    return InputBlock(block_id=block, label=title, element=element, hint=hint, optional=True)


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"• {safe(line, 400)}" for line in lines)


def opened_batch(metadata: object) -> tuple[int, str, Kind]:
    """(digest id, cause key, kind) a submitted batch preview carries. Raises Tampered otherwise."""
    try:
        data = json.loads(metadata) if isinstance(metadata, str) and len(metadata) < 200 else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or set(data) != {"digest", "key", "kind"}:
        raise Tampered(FORGED)
    digest, key, kind = data["digest"], data["key"], data["kind"]
    if not isinstance(digest, int) or not isinstance(key, str) or kind not in {k.value for k in OFFER_ACTIONS}:
        raise Tampered(FORGED)
    if VALUE.fullmatch(f"{digest}:{key}") is None:
        raise Tampered(FORGED)
    return digest, key, Kind(kind)


def typed(view: Any, block: str, action: str) -> str | None:
    value = dig(view, "state", "values", block, action, "value")
    return value if isinstance(value, str) else None


def errors(block: str, message: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {block: cut(message, 150)}}


def progress_text(batch: Batch, retries: str | None = None) -> str:
    more = f"; {retries}" if retries else ""
    return f"Batch {batch.id} ({batch.kind.value} {label(batch_cause(batch))}): {how_it_ended(batch)}{more}"


def batch_cause(batch: Batch) -> Cause:
    return Cause(batch.situation, batch.step, batch.error)


def progress_blocks(batch: Batch, retries: str | None = None, *, elsewhere: bool = False) -> list[Block]:
    """The batch's one message in the digest's thread: its progress (and its retries'), Stop while it runs;
    `elsewhere`: another process took the batch over, and this message is no longer edited."""
    more = f"; {retries}" if retries else ""
    if elsewhere and batch.status is BatchStatus.RUNNING:
        more += f". Run on by another process from here: `tenantbot batch status {batch.id}` follows it"
    head = f"*Batch {batch.id}*: {NAMES.get(batch.kind, batch.kind.value)} {safe(label(batch_cause(batch)), 300)}"
    by = f"Started by {actor(batch.created_by)}: {safe(batch.reason, 600)}"
    blocks: list[Block] = [
        SectionBlock(text=md(cut(f"{head}\n{safe(how_it_ended(batch) + more, 600)}", 3000))),
        ContextBlock(elements=[md(cut(by, 2000))]),
    ]
    if batch.status is BatchStatus.RUNNING and batch.stop_requested_by is None:
        blocks.append(stop_row(batch))
    return blocks


def stop_row(batch: Batch) -> ActionsBlock:
    """Stop, on any message that shows a running batch (bot/listeners/batches.py checks the block id)."""
    stop = ButtonElement(text="Stop", action_id=STOP, value=str(batch.id), style="danger")
    return ActionsBlock(block_id=f"batch:{batch.id}", elements=[stop])


def auto_batch_blocks(batch: Batch, text: str) -> list[Block]:
    """Auto-recovery's announcement of `batch` (bot/blocks/announcement.py says what), with its Stop; it is
    edited into the batch's progress once the batch job runs it."""
    return [SectionBlock(text=md(cut(text, 3000))), stop_row(batch)]
