"""The reset nudge's words (core/alerting/nudges.py): a Reset that nobody followed with Retry or
Decommission, told to whoever pressed it, in the alert's thread or directly. Plain text: no buttons, the
tenant's card (`/tenant <id>`) has them, re-checked at the moment they run."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks.common import actor
from bot.text import cut, listing
from core.alerting.nudges import ResetNudge

NUDGE_CHARS = 3000


def reset_nudge_text(resetter: str, nudges: Sequence[ResetNudge]) -> str:
    """ "@U1 you reset `acme-42` at 03:12 UTC and nobody has pressed Retry or Decommission since: …"."""
    first = nudges[0]
    if len(nudges) == 1:
        what = f"you reset `{first.tenant_id}` at {first.reset_at:%H:%M} UTC"
        state = "it is Pending and still holds its allocations"
    else:
        names = listing([f"`{n.tenant_id}`" for n in nudges], 1500)
        what = f"you reset {len(nudges)} tenants ({names}) from {min(n.reset_at for n in nudges):%H:%M} UTC"
        state = "they are Pending and still hold their allocations"
    text = (
        f"{actor(resetter)} {what} and nobody has pressed Retry or Decommission since: {state}. "
        "Reset alone recovers nothing: Retry starts a fresh attempt that reuses the allocations, "
        "Decommission releases them (`/tenant &lt;id&gt;` has both)."
    )
    return cut(text, NUDGE_CHARS)
