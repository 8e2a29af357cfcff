"""A Notifier that records what would reach Slack, for tests of the wedge scan (unit and integration).

`fail_next` makes the next calls fail like an unreachable Slack; `delay` makes each call slow (a 429's
Retry-After, the 1 message/s pacing). `sent` lists ("post", tenant), ("digest", "t1,t2"),
("update", tenant), ("update_digest", "open/all"), ("reply", "<tenant or digest>: text"),
("announce", "<thread's tenant or channel>: actor action tenant"); `shown` holds
each alert and digest as it was posted or edited.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

from core.alerting.model import Alert, Announcement, Digest
from core.alerting.nudges import ResetNudge
from core.alerting.ports import Notifier, NotifyError
from core.batches import Batch


class RecordingNotifier(Notifier):
    """The Notifier port (subclassed, so mypy flags a method it lacks or no longer matches)."""

    dry_run = False

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[tuple[str, str]] = []
        self.shown: list[Alert | Digest] = []
        self.fail_next = 0
        self.delay = delay
        self.owners: dict[str, str] = {}  # message ref -> tenant id or "digest"
        self._ts = itertools.count(1)

    async def _call(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next:
            self.fail_next -= 1
            raise NotifyError("slack unavailable (fake)")

    def _ref(self, owner: str) -> str:
        ref = f"C1/{next(self._ts)}"
        self.owners[ref] = owner
        return ref

    async def post_alert(self, alert: Alert) -> str:
        await self._call()
        self.shown.append(alert)
        self.sent.append(("post", alert.tenant_id))
        return self._ref(alert.tenant_id)

    async def post_digest(self, digest: Digest, members: Sequence[Alert]) -> str:
        await self._call()
        self.shown.append(digest)
        self.sent.append(("digest", ",".join(a.tenant_id for a in members if a.resolved_at is None)))
        return self._ref("digest")

    async def update_alert(self, alert: Alert) -> None:
        await self._call()
        self.shown.append(alert)
        self.sent.append(("update", alert.tenant_id))

    async def update_digest(self, digest: Digest, members: Sequence[Alert]) -> None:
        await self._call()
        self.shown.append(digest)
        self.sent.append(("update_digest", f"{len([m for m in members if m.resolved_at is None])}/{len(members)}"))

    async def reply(self, message_ref: str, text: str) -> None:
        await self._call()
        self.sent.append(("reply", f"{self.owners.get(message_ref, message_ref)}: {text}"))

    async def announce(self, line: Announcement, thread: str | None) -> str:
        await self._call()
        where = self.owners.get(thread, thread) if thread is not None else "channel"
        self.sent.append(("announce", f"{where}: {line.actor} {line.action or 'mention'} {line.tenant_id}"))
        return self._ref("announcement")

    async def announce_batch(self, batch: Batch, left_today: int) -> str:
        await self._call()
        self.sent.append(("announce_batch", f"batch {batch.id}: {batch.total} {batch.kind.value}, {left_today} left"))
        return self._ref("announcement")

    async def remind_reset(self, thread: str | None, resetter: str, nudges: Sequence[ResetNudge]) -> None:
        await self._call()
        where = self.owners.get(thread, thread) if thread else f"dm {resetter}"
        self.sent.append(("remind_reset", f"{where}: {','.join(n.tenant_id for n in nudges)}"))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.sent]
