"""Getting alert-channel messages to Slack: posts under a claim, and edits/replies retried until shown.

Each Slack call is preceded by `keep()` (the scan renews its lease there and stops if it lost it) and
by a claim on the message in the database, so a message is posted by one replica only, even when two
scans overlap. An edit or reply that fails stays pending in the database and is retried by later
ticks, at most `max_failures` times in a row. A dry run (a notifier with no chat) only prints. Every
message is shown with the read-only switch as it is at that moment (core/freeze.py: while frozen, a
banner and no Reset); flipping the switch asks for the open ones to be shown again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from core.alerting.model import Alert, Digest
from core.alerting.ports import AlertStore, MessageKind, Notifier, NotifyError
from core.freeze import FreezeStore, NeverFrozen

log = logging.getLogger(__name__)
Keep = Callable[[], Awaitable[None]]
M = TypeVar("M", bound=Alert | Digest)


async def nothing() -> None:
    return None


class Delivery:
    def __init__(
        self,
        alerts: AlertStore,
        notifier: Notifier,
        *,
        holder: str,
        clock: Callable[[], datetime],
        claim_ttl: timedelta,
        max_failures: int = 10,
        failures_per_flush: int = 3,
        freezes: FreezeStore | None = None,
    ) -> None:
        self.alerts, self.notifier, self.holder, self.clock = alerts, notifier, holder, clock
        self.freezes = freezes or NeverFrozen()  # the read-only switch, shown on every message
        self.claim_ttl, self.max_failures, self.failures_per_flush = claim_ttl, max_failures, failures_per_flush

    async def post(self, alerts: list[Alert], keep: Keep = nothing) -> int:
        """Post these open, unposted alerts (a digest's members as their digest), digests first.

        A post Slack refuses stays unposted for the next tick; after a few refusals in one tick (Slack
        is down) the rest wait too, while one message Slack keeps refusing does not block the others.
        """
        digests = sorted({a.digest_id for a in alerts if a.digest_id is not None})
        todo: list[tuple[MessageKind, int]] = [("digest", d) for d in digests]
        todo += [("alert", a.id) for a in alerts if a.digest_id is None and a.id is not None]
        posted = failed = 0
        for kind, key in todo:
            try:
                posted += await self._post(kind, key, keep)
            except NotifyError as e:
                log.warning("%s #%d not posted yet, retrying next tick: %s", kind, key, e)
                failed += 1
                if failed >= self.failures_per_flush:
                    break
        return posted

    async def _post(self, kind: MessageKind, key: int, keep: Keep) -> int:
        if self.notifier.dry_run:
            return await self._show(kind, key)
        await keep()
        message = await self.alerts.claim(kind, key, self.holder, now=self.clock(), ttl=self.claim_ttl, unposted=True)
        if message is None:
            return 0  # posted or being posted by another replica
        members = await self._members(message)
        if isinstance(message, Digest) and not [m for m in members if m.resolved_at is None]:
            await self.alerts.release(kind, key, self.holder)
            return 0  # every member resolved before the digest could be posted: nothing to say
        try:
            shown = await self.as_shown(message)
            if isinstance(shown, Digest):
                ref = await self.notifier.post_digest(shown, members)
            else:
                ref = await self.notifier.post_alert(shown)
        except BaseException:  # Slack refused, or shutdown: let a later tick post it
            await self.alerts.release(kind, key, self.holder)
            raise
        if not await self.alerts.mark_posted(kind, key, self.holder, ref, message.revision):
            log.error("%s %s was posted after its claim ran out; it may show twice", kind, key)
        return len([m for m in members if m.resolved_at is None]) if isinstance(message, Digest) else 1

    async def _show(self, kind: MessageKind, key: int) -> int:
        """Dry run: print what would be posted, record nothing (a replica with Slack posts it)."""
        if kind == "digest":
            digest = await self.alerts.digest(key)
            if digest is not None:
                await self.notifier.post_digest(await self.as_shown(digest), await self.alerts.digest_members(key))
        else:
            alert = await self.alerts.alert(key)
            if alert is not None:
                await self.notifier.post_alert(await self.as_shown(alert))
        return 0

    async def flush(self, keep: Keep = nothing) -> int:
        """Send pending edits and replies of posted messages; give up on this tick after a few failures."""
        if self.notifier.dry_run:
            return 0
        delivered = failed = 0
        for message in await self.alerts.undelivered():
            await keep()
            try:
                delivered += await self.deliver(message)
            except NotifyError as e:
                log.warning("could not update %s: %s (retrying next tick)", message_name(message), e)
                failed += 1
                if failed >= self.failures_per_flush:
                    break
        return delivered

    async def deliver(self, stale: Alert | Digest) -> int:
        """One message's pending edit, then its pending reply; 1 when done, 0 when not ours to send."""
        kind: MessageKind = "digest" if isinstance(stale, Digest) else "alert"
        assert stale.id is not None
        key = stale.id
        message = await self.alerts.claim(kind, key, self.holder, now=self.clock(), ttl=self.claim_ttl, unposted=False)
        if message is None or message.message_ref is None:
            return 0
        reply, shown = message.reply_pending, message.shown_revision
        if message.failures >= self.max_failures:
            log.warning("giving up on %s after %d failed attempts", message_name(message), message.failures)
            done = message.revision
            await self.alerts.mark_delivered(kind, key, self.holder, revision=done, reply=reply, failed=False)
            return 0
        try:
            if message.revision > shown:
                await self._update(message)
                shown = message.revision
            if reply is not None:
                await self.notifier.reply(message.message_ref, reply)
        except NotifyError:
            await self.alerts.mark_delivered(kind, key, self.holder, revision=shown, reply=None, failed=True)
            raise
        except BaseException:
            await self.alerts.release(kind, key, self.holder)
            raise
        await self.alerts.mark_delivered(kind, key, self.holder, revision=shown, reply=reply, failed=False)
        return 1

    async def _update(self, message: Alert | Digest) -> None:
        shown = await self.as_shown(message)
        if isinstance(shown, Digest):
            await self.notifier.update_digest(shown, await self._members(message))
        else:
            await self.notifier.update_alert(shown)

    async def as_shown(self, message: M) -> M:
        """The message with the read-only switch as it is now, for rendering. Raises StoreError."""
        return replace(message, frozen=await self.freezes.current())

    async def _members(self, message: Alert | Digest) -> list[Alert]:
        return await self.alerts.digest_members(message.id) if isinstance(message, Digest) else []


def message_name(message: Alert | Digest) -> str:
    return f"the digest #{message.id}" if isinstance(message, Digest) else f"the alert of {message.tenant_id}"
