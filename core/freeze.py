"""The read-only switch: while tenantbot is frozen, every operator action is refused, from every entry point.

In an incident an operator freezes tenantbot (`tenantbot freeze --reason …`, or `/tenant freeze <reason>`
for the admin allow-list) so that nobody changes anything while the cause is looked into. The switch is
kept in the database (one row per freeze, core/persistence/freeze_store.py), so every replica, the CLI and
the scan see it at once: `TenantService.act`, which every action of every entry point goes through (Slack
buttons, alert controls, the CLI), reads it before it claims the tenant (one indexed read, within
READ_TIMEOUT) and refuses while it is on, audited on the tenant as `action_refused` with who froze it, when
and why. A switch that cannot be read refuses too (fail closed). Reading is never frozen, the scan keeps
alerting (its messages then show the freeze and no Reset), and Snooze is not an action (it silences an
alert, changing no tenant), so it stays allowed.

Each freeze's row is the switch's record: who froze it, when and why, and who lifted it when.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

log = logging.getLogger(__name__)
MAX_REASON = 500


@dataclass(frozen=True)
class Freeze:
    """The switch while it is on: who froze tenantbot, when, and why."""

    by: str
    at: datetime
    reason: str

    def since(self, now: datetime) -> str:
        """When it was frozen: the time of day, with the date when that was another day."""
        return f"{self.at:%H:%M} UTC" if self.at.date() == now.date() else f"{self.at:%Y-%m-%d %H:%M} UTC"

    def refusal(self, now: datetime) -> str:
        """Why an action is refused while frozen (for the presser and the tenant's audit feed)."""
        return f"tenantbot is frozen (read-only) by {self.by} since {self.since(now)}: {self.reason}"


class FreezeStore(Protocol):
    """The switch in the database (core/persistence/freeze_store.py). Each call is one transaction."""

    async def current(self) -> Freeze | None:
        """The freeze in force, or None."""
        ...

    async def freeze(self, freeze: Freeze) -> Freeze:
        """Record `freeze` unless one is in force; the freeze in force afterwards (`freeze`, or the earlier
        one). Flipping the switch asks for every open alert to be shown again (with or without the freeze)."""
        ...

    async def unfreeze(self, by: str, at: datetime) -> Freeze | None:
        """Lift the freeze in force; the freeze lifted, or None when there was none."""
        ...


class NeverFrozen(FreezeStore):
    """The switch of a service built without one (tests of other parts): never on, cannot be flipped."""

    async def current(self) -> Freeze | None:
        return None

    async def freeze(self, freeze: Freeze) -> Freeze:
        raise NotImplementedError("this process has no read-only switch")

    async def unfreeze(self, by: str, at: datetime) -> Freeze | None:
        return None


class SwitchOutcome(StrEnum):
    FROZEN = "frozen"
    ALREADY_FROZEN = "already frozen"
    UNFROZEN = "unfrozen"
    NOT_FROZEN = "not frozen"
    REFUSED = "refused"


@dataclass(frozen=True)
class SwitchResult:
    """What a freeze or unfreeze did: `freeze` is the one now in force (FROZEN, ALREADY_FROZEN) or the one
    lifted (UNFROZEN); `reason` says why it was REFUSED."""

    outcome: SwitchOutcome
    freeze: Freeze | None = None
    reason: str | None = None


class InvalidReason(ValueError):
    """A freeze reason that cannot be recorded: empty, too long, or with control characters."""


def parse_reason(raw: str, missing: str = "a freeze needs a reason, e.g. 'database failover in progress'") -> str:
    """The reason as it is recorded and shown, for a freeze and for every action that takes one: one line
    (runs of white space become one space), 1-500 characters, no control characters (a terminal escape in
    it must not reach the CLI's readers). `missing`: what an empty one is told."""
    reason = " ".join(raw.split())
    if not reason:
        raise InvalidReason(missing)
    if len(reason) > MAX_REASON:
        raise InvalidReason(f"the reason is {len(reason)} characters long; keep it to {MAX_REASON}")
    if any(unicodedata.category(c) == "Cc" for c in reason):
        raise InvalidReason("the reason contains a control character")
    return reason


class Switch:
    """Reads and flips the switch. Who may flip it is the caller's business: the CLI always can, a Slack
    user only on the admin allow-list (core/presses.py asks the Authorizer)."""

    def __init__(self, store: FreezeStore, *, clock: Callable[[], datetime]) -> None:
        self.store, self.clock = store, clock  # a bounded store in the composition root (core/bounded.py)

    async def state(self) -> Freeze | None:
        """The freeze in force, read now. Raises StoreError."""
        return await self.store.current()

    async def freeze(self, actor: str, reason: str) -> SwitchResult:
        """Freeze tenantbot as `actor`; an earlier freeze stays as it is (ALREADY_FROZEN). Raises StoreError."""
        try:
            why = parse_reason(reason)
        except InvalidReason as e:
            return SwitchResult(SwitchOutcome.REFUSED, reason=str(e))
        wanted = Freeze(actor, self.clock(), why)
        kept = await self.store.freeze(wanted)
        if kept != wanted:
            return SwitchResult(SwitchOutcome.ALREADY_FROZEN, kept)
        log.info("tenantbot frozen by %s: every action is refused until it is unfrozen", actor)
        return SwitchResult(SwitchOutcome.FROZEN, kept)

    async def unfreeze(self, actor: str) -> SwitchResult:
        """Lift the freeze in force as `actor` (NOT_FROZEN when there is none). Raises StoreError."""
        lifted = await self.store.unfreeze(actor, self.clock())
        if lifted is None:
            return SwitchResult(SwitchOutcome.NOT_FROZEN)
        log.info("tenantbot unfrozen by %s (frozen by %s since %s)", actor, lifted.by, lifted.at.isoformat())
        return SwitchResult(SwitchOutcome.UNFROZEN, lifted)
