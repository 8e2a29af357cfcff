"""What a digest offers batches for, and what one would do: the pure half of core/alerting/batch_offers.py.

A digest groups its still-wedged members by cause (core/causes.py); its largest groups of two or more
whose tenants have not wedged again after a Reset and Retry (those need a human: the recovery did not
hold) get "Reset all N" and "Reset and Retry all N", none while tenantbot is frozen (`offered`). A button
names a group by `cause_key`. A `BatchOffer` is what the preview shows, in the single actions' words
(core/previews.py), and the rate and canary typed there are read by `parse_rate` and `parse_canary`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from core.alerting.model import Alert, Digest
from core.batches import DEFAULT_RATE, MAX_CANARY, MAX_RATE, Kind
from core.causes import Cause, Group, group
from core.previews import EFFECTS

MIN_MEMBERS = 2  # one tenant is one press on its own alert
OFFERED_GROUPS = 3  # the largest groups get buttons (the summary names as many)


def cause_key(cause: Cause) -> str:
    """12 hex characters naming a cause on a button (its label can run to 150 characters)."""
    text = f"{cause.situation.key}|{cause.step or ''}|{cause.error or ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def offered(digest: Digest, members: Sequence[Alert]) -> list[Group]:
    """The groups a digest offers batches for: still wedged, not escalated, two or more; none while frozen."""
    if digest.frozen is not None:
        return []
    still = {m.tenant_id: m.cause for m in members if m.resolved_at is None and not m.escalated}
    return [g for g in group(still) if len(g) >= MIN_MEMBERS][:OFFERED_GROUPS]


class InvalidOption(ValueError):
    """A rate or canary typed in the preview that a batch cannot take; the message says what to fix."""


def parse_rate(raw: str | None) -> float:
    text = (raw or "").strip()
    if not text:
        return DEFAULT_RATE
    try:
        rate = float(text)
    except ValueError:
        raise InvalidOption(f"'{text[:20]}' is not a number of tenants per second") from None
    if not 0 < rate <= MAX_RATE:
        raise InvalidOption(f"give more than 0 and at most {MAX_RATE:g} tenants per second")
    return rate


def parse_canary(raw: str | None, kind: Kind) -> int:
    text = (raw or "").strip()
    if not text:
        return kind.canary_default
    if not text.isascii() or not text.isdigit() or not 0 <= int(text) <= MAX_CANARY:
        raise InvalidOption(f"give a whole number from 0 to {MAX_CANARY}")
    if int(text) and kind is Kind.RESET:
        raise InvalidOption("a Reset alone starts no retry to wait for: leave it at 0")
    return int(text)


@dataclass(frozen=True)
class Refused:
    reason: str


@dataclass(frozen=True)
class BatchOffer:
    """What a batch pressed on a digest would do: shown in its preview, then started as it is."""

    digest: Digest
    kind: Kind
    cause: Cause
    members: tuple[tuple[str, str | None], ...]  # (tenant id, step), in the order they would run
    excluded: int  # tenants of the cause left out (they wedged again after a Reset and Retry)

    @property
    def thread(self) -> tuple[str, str] | None:
        """(channel, ts) of the digest's message: the batch's progress goes to its thread."""
        channel, _, ts = (self.digest.message_ref or "").partition("/")
        return (channel, ts) if channel and ts else None

    def will(self) -> list[str]:
        """What happens to each member, in the single actions' words (core/previews.py)."""
        reset = EFFECTS[self.kind.actions[0]]
        said = [f"the run is {reset.run}", f"allocations are {reset.allocations}", f"it ends in {reset.ends_in}"]
        if self.kind is Kind.RESET_RETRY:
            said.append("then Retry starts a new attempt from the first step, reusing the kept allocations")
        return said

    def will_not(self) -> list[str]:
        not_done = EFFECTS[self.kind.actions[0]].not_done
        if self.kind is Kind.RESET_RETRY:  # the batch's Retry starts the attempt a Reset alone does not
            not_done = tuple(n for n in not_done if not n.startswith("no new attempt"))
        return [*not_done, "tenants that wedged again after a Reset and Retry are left out: they need a human"]
