"""The ports alerting calls: the alert store (episodes, digests, message claims, owners), the announcement
store (lines read from the audit feed, mentions) and the notifier (where alerts and announcements go).
The scan lease is a `Leases` (core/ports.py), like each process's liveness lease.

Adapters: `core/persistence/` (the same database as the tenants) and `bot/notifier.py` (Slack),
or `tenantbot/console_notifier.py` (a terminal); unit tests record what would reach Slack with
`tests/alert_fakes.py`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from core.alerting.model import Alert, Announcement, Digest
from core.decisions import Situation

if TYPE_CHECKING:
    from core.alerting.nudges import ResetNudge
    from core.batches import Batch

MessageKind = Literal["alert", "digest"]


class AlertStore(Protocol):
    """Alert episodes, digests and their messages' claims, in the same database as the tenants.

    Every write names the columns it changes and is guarded (`WHERE resolved_at IS NULL`, `WHERE
    message_ref IS NULL`, `WHERE claimed_by = holder`), so a stale copy never overwrites a concurrent
    snooze or resolution, and a message is posted by at most one claimant.
    """

    async def open_alerts(self) -> list[Alert]: ...

    async def open_alert(self, alert: Alert) -> Alert | None:
        """Record a new episode; None if the tenant already has an open one (another replica won)."""
        ...

    async def alert(self, alert_id: int) -> Alert | None: ...

    async def open_digest(self, opened_at: datetime) -> Digest: ...

    async def digest(self, digest_id: int) -> Digest | None: ...

    async def digest_members(self, digest_id: int) -> list[Alert]:
        """Every alert of the digest, open and resolved, by tenant id."""
        ...

    async def revise(
        self,
        alert_id: int,
        situation: Situation,
        reason: str,
        *,
        at: datetime,
        visible: bool,
        step: str | None = None,
        error: str | None = None,
    ) -> bool:
        """New situation, reason and cause (`step`, normalised `error`) of an open alert; `visible` asks for
        an edit of its message."""
        ...

    async def snooze(self, alert_id: int, until: datetime, by: str) -> bool:
        """Snooze an open alert; False if it is resolved (or unknown)."""
        ...

    async def wake(self, alert_id: int, until: datetime, reply: str | None) -> bool:
        """End the snooze that ran out at `until` (not a newer one) and queue `reply`."""
        ...

    async def resolve(self, alert_id: int, at: datetime, resolution: str, reply: str | None) -> bool:
        """Close an open episode and queue `reply`; False if it was already resolved."""
        ...

    async def touch_digest(self, digest_id: int, reply: str | None) -> None:
        """Ask for the digest to be re-rendered, and append `reply` to its pending thread reply."""
        ...

    async def claim(
        self, kind: MessageKind, key: int, holder: str, *, now: datetime, ttl: timedelta, unposted: bool
    ) -> Alert | Digest | None:
        """Take the message for posting (`unposted`) or editing; the fresh row, or None if not free."""
        ...

    async def mark_posted(self, kind: MessageKind, key: int, holder: str, message_ref: str, revision: int) -> bool:
        """Record where the claimed message was posted (a digest's members too) and release the claim."""
        ...

    async def mark_delivered(
        self, kind: MessageKind, key: int, holder: str, *, revision: int, reply: str | None, failed: bool
    ) -> None:
        """After an edit/reply attempt: what is now shown, whether `reply` went out, and release the claim."""
        ...

    async def release(self, kind: MessageKind, key: int, holder: str) -> None:
        """Give the claim back without recording anything (the post failed)."""
        ...

    async def undelivered(self) -> list[Alert | Digest]:
        """Posted messages with an edit or a reply still to send (alerts of digests excluded)."""
        ...

    async def take(self, alert_id: int, by: str, at: datetime, *, was: str | None) -> bool:
        """Make `by` the owner of an open alert whose owner is still `was` (compare and set); False if the
        alert is resolved, unknown, or someone else took it meanwhile."""
        ...

    async def latest_alerts(self, tenant_ids: Sequence[str]) -> dict[str, Alert]:
        """Each tenant's newest episode that was posted, open or resolved (where to remind its resetter)."""
        ...


class AnnouncementStore(Protocol):
    """The lines the channel must see once, in the same database as the audit feed they are read from.

    Recording is idempotent (unique on the audit event; one mention per alert), so replicas and restarts
    reading the same feed record each line once; posting is claimed like an alert's message.
    """

    async def newest(self) -> datetime | None:
        """The time of the newest action recorded so far (where reading the feed goes on from)."""
        ...

    async def record_actions(self, types: Collection[str], since: datetime, limit: int) -> int:
        """Record the audit events of these types at or after `since` not recorded yet, each with the alert of
        its tenant that was open when it happened (if any); how many were new."""
        ...

    async def record_mentions(self, opened_before: datetime, now: datetime, whom: str) -> int:
        """Record one mention of `whom` for every open, posted, unsnoozed alert of its own (not a digest's)
        nobody took, opened before `opened_before` and not mentioned yet; how many were new."""
        ...

    async def pending(self, limit: int) -> list[Announcement]:
        """Lines neither posted nor given up, oldest first."""
        ...

    async def claim(self, key: int, holder: str, *, now: datetime, ttl: timedelta) -> Announcement | None:
        """Take the line for posting; None if it is done or another holder's."""
        ...

    async def done(self, key: int, holder: str, at: datetime, message_ref: str | None) -> bool:
        """Posted at `message_ref` (None: not to be posted, e.g. a mention of an alert taken meanwhile)."""
        ...

    async def failed(self, key: int, holder: str, *, give_up: bool, at: datetime, counted: bool = True) -> None:
        """The post failed: count it (unless cut short by a shutdown) and release the claim, or give up."""
        ...


class NotifyError(Exception):
    """The chat could not be reached or refused the message; the alert stays unposted for a later tick."""


class Notifier(Protocol):
    """Where alerts go (a Slack channel). Implementations pace themselves and honour rate limits.

    `dry_run` is True for a notifier that keeps no messages (a terminal): the scan then prints what it
    would post and leaves every post, edit and reply to a replica that has Slack.
    """

    dry_run: bool

    async def post_alert(self, alert: Alert) -> str:
        """Post one alert with its buttons; returns a reference for later edits."""
        ...

    async def post_digest(self, digest: Digest, members: Sequence[Alert]) -> str:
        """Post one message listing many new alerts (a mass wedge); returns its reference."""
        ...

    async def update_alert(self, alert: Alert) -> None:
        """Edit the alert in place (new situation, snoozed, resolved)."""
        ...

    async def update_digest(self, digest: Digest, members: Sequence[Alert]) -> None:
        """Re-render the digest (resolved count, what is still wedged)."""
        ...

    async def reply(self, message_ref: str, text: str) -> None:
        """A short reply in the message's thread (resolution, reminder after a snooze)."""
        ...

    async def announce(self, line: Announcement, thread: str | None) -> str:
        """Post one line in `thread` (an alert's message reference), or else in the actions channel;
        returns where it was posted."""

    async def announce_batch(self, batch: Batch, left_today: int) -> str:
        """Say in the alert channel that auto-recovery started `batch` (what it does, a Stop, how many
        tenants automatic batches may still take today); returns where it was posted, which then shows the
        batch's progress."""
        ...

    async def remind_reset(self, thread: str | None, resetter: str, nudges: Sequence[ResetNudge]) -> None:
        """Remind `resetter` that these tenants were reset and are still Pending, holding their allocations:
        in the thread of `thread` (a message reference), or directly to the resetter when None."""
        ...
