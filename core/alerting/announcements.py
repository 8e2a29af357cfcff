"""Actions are seen, alerts are claimed: every operator action announced in one line, and one mention of
an alert nobody took.

**Where an announcement comes from.** From the audit feed, not from the action: every action, whatever
its entry point (a private card, an alert button, a modal, the command line), writes its
`<action>_started` event in the same transaction as its claim on the tenant (core/service.py). The
announcer reads those events (with the `reason` they carry, when they carry one) and records one line
per event in `announcements`, unique on the event, so a line is never lost (the feed is the record, kept
even if the process that acted dies right after) and never doubled (replicas and restarts reading the
same events record it once). The other way round — the tenant side calling a port "announce this" —
would make every new entry point remember to call it and could lose a line between the action's commit
and the port's; reading the feed keeps the tenant side unaware of alerting (tests/unit/alerting/
test_boundary.py). The feed is read from the newest line recorded (or this process's previous read, if
later), minus `OVERLAP` for events committed late or stamped by a slightly slow clock — so a tick reads
minutes of the feed, not its history; on the first start of a fresh database, from `FIRST_LOOKBACK` ago.

**Where it goes.** To the thread of the tenant's alert that was open when the action ran (decided when
the line is recorded), else to the actions channel (`ACTIONS_CHANNEL`, by default the alert channel).
A line for an alert not posted yet waits for it; for an alert resolved before it was ever posted, it
goes to the channel.

**Delivered like an alert.** Each line is claimed in the database before it is posted and marked done
once Slack took it; a post that fails stays pending for the next run, at most `max_failures` times.
The scan tick runs the announcer (so a line recorded by the command line, which has no Slack, is
posted by the serving process), and `serve` nudges it right after an action so the line comes at once.

**Mentions.** With `ALERT_MENTION` set, an alert of its own (not a digest's line) that is posted, not
snoozed, not resolved and that nobody took for `ALERT_MENTION_AFTER` gets one thread reply mentioning
it: recorded once per alert (a unique index), posted once (the claim), and dropped if the alert was
taken, snoozed or resolved before it went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core import events as ev
from core.alerting.delivery import Keep, nothing
from core.alerting.model import Alert, Announcement
from core.alerting.ports import AlertStore, AnnouncementStore, Notifier, NotifyError
from core.domain import Action
from core.ports import StoreError

log = logging.getLogger(__name__)
ANNOUNCED = tuple(ev.started(a) for a in Action)  # one line per action that ran
OVERLAP = timedelta(minutes=5)
FIRST_LOOKBACK = timedelta(hours=1)
BATCH = 200


class Announcer:
    def __init__(
        self,
        lines: AnnouncementStore,
        alerts: AlertStore,
        notifier: Notifier,
        *,
        holder: str,
        clock: Callable[[], datetime],
        claim_ttl: timedelta = timedelta(minutes=5),
        mention: str | None = None,
        mention_after: timedelta = timedelta(minutes=15),
        max_failures: int = 10,
    ) -> None:
        self.lines, self.alerts, self.notifier, self.holder, self.clock = lines, alerts, notifier, holder, clock
        self.claim_ttl, self.mention, self.mention_after = claim_ttl, mention, mention_after
        self.max_failures = max_failures
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._read_at: datetime | None = None  # when this process last read the feed

    async def run(self, keep: Keep = nothing) -> int:
        """Record what is new, then post what is pending; how many lines were posted."""
        await self.record()
        return await self.deliver(keep)

    async def record(self) -> int:
        now = self.clock()
        since = await self._since(now)
        new = await self.lines.record_actions(ANNOUNCED, since, BATCH)
        self._read_at = now if new < BATCH else self._read_at  # a full batch: read on from the same place
        if self.mention is not None:
            new += await self.lines.record_mentions(now - self.mention_after, now, self.mention)
        return new

    async def _since(self, now: datetime) -> datetime:
        """Where to read the feed from: the newest line recorded or this process's last read, whichever is
        later, minus the overlap; on the first read of a fresh database, FIRST_LOOKBACK ago."""
        marks = [m for m in (await self.lines.newest(), self._read_at) if m is not None]
        return max(marks) - OVERLAP if marks else now - FIRST_LOOKBACK

    async def deliver(self, keep: Keep = nothing) -> int:
        """Post the pending lines, oldest first; a dry run (no chat) leaves them to a replica with Slack."""
        if self.notifier.dry_run:
            return 0
        posted = failed = 0
        for line in await self.lines.pending(BATCH):
            await keep()
            try:
                posted += await self._post(line)
            except NotifyError as e:
                log.warning("announcement #%s not posted yet, retrying later: %s", line.id, e)
                failed += 1
                if failed >= 3:
                    break
        return posted

    async def _post(self, pending: Announcement) -> int:
        assert pending.id is not None
        alert = await self.alerts.alert(pending.alert_id) if pending.alert_id is not None else None
        if alert is not None and alert.message_ref is None and alert.resolved_at is None:
            return 0  # its alert is not posted yet: the line follows it into its thread
        line = await self.lines.claim(pending.id, self.holder, now=self.clock(), ttl=self.claim_ttl)
        if line is None:
            return 0  # posted, or being posted, by another replica
        assert line.id is not None
        if line.mention and (alert is None or not wanted(alert, self.clock())):
            await self.lines.done(line.id, self.holder, self.clock(), None)
            return 0
        try:
            ref = await self.notifier.announce(line, alert.message_ref if alert is not None else None)
        except NotifyError:
            give_up = line.failures + 1 >= self.max_failures
            if give_up:
                log.warning("giving up on announcement #%d after %d failed attempts", line.id, line.failures + 1)
            await self.lines.failed(line.id, self.holder, give_up=give_up, at=self.clock())
            raise
        except BaseException:  # shutdown: give the line back for the next run, uncounted
            await self.lines.failed(line.id, self.holder, give_up=False, at=self.clock(), counted=False)
            raise
        if not await self.lines.done(line.id, self.holder, self.clock(), ref):
            log.error("announcement #%d was posted after its claim ran out; it may show twice", line.id)
        return 1

    def nudge(self) -> None:
        """Announce now, in the background (an action just ran in this process); runs coalesce."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._soon())

    async def _soon(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            try:
                await self.run()
            except (StoreError, NotifyError) as e:
                log.warning("announcements left for the next scan tick: %s", e)

    async def close(self) -> None:
        """Stop a nudged run (the next start or another replica posts what it left)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def wanted(alert: Alert, now: datetime) -> bool:
    """A mention still calls for someone: the alert is open, nobody took it and it is not snoozed."""
    return alert.resolved_at is None and alert.owner is None and not alert.snoozed(now)
