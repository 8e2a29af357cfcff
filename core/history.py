"""A tenant's whole audit feed, newest first, a page at a time: `/tenant <id> history` and `tenantbot history`.

Pages are keyset pages over (time, id) (`FeedPosition`): a page is "the N events just older (or newer)
than this position", so paging through thousands of events costs the same on every page and never
skips or repeats an event, even while new ones are recorded. A page says whether there is more on each
side and where it ends; `cursor` writes such a position as text for a Slack button to carry, and
`parse_cursor` reads it back, refusing anything this bot did not write.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.domain import AuditEvent, FeedPosition
from core.ports import TenantStore
from core.results import TenantNotFound

PAGE = 20  # events on a Slack page: with their details, well within one message
EXPORT_PAGE = 100  # events read at a time when the whole feed is streamed (the CLI)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR = re.compile(r"([0-9]{1,17})\.([0-9]{1,18})")


class InvalidCursor(ValueError):
    """A page position this bot did not write (an altered or cut button value)."""


def cursor(position: FeedPosition) -> str:
    """`<microseconds since 1970>.<id>`: exact (no rounding of the time) and short."""
    return f"{(position.at - EPOCH) // timedelta(microseconds=1)}.{position.id}"


def parse_cursor(text: str) -> FeedPosition:
    match = CURSOR.fullmatch(text)
    if match is None:
        raise InvalidCursor("not a position in an audit feed")
    return FeedPosition(EPOCH + timedelta(microseconds=int(match.group(1))), int(match.group(2)))


@dataclass(frozen=True)
class HistoryPage:
    tenant_id: str
    events: tuple[AuditEvent, ...]  # newest first
    older: FeedPosition | None = None  # read the next page before this position; None: this is the oldest
    newer: FeedPosition | None = None  # read the previous page after this position; None: this is the newest

    @property
    def newest(self) -> bool:
        return self.newer is None


class AuditHistory:
    """Reads the feed through the tenant store the composition root hands it: the one the service reads,
    each call within READ_TIMEOUT (core/bounded.py: the tenant as "database", the feed as "audit events")."""

    def __init__(self, store: TenantStore) -> None:
        self.store = store

    async def page(
        self, tenant_id: str, *, before: FeedPosition | None = None, after: FeedPosition | None = None, size: int = PAGE
    ) -> HistoryPage:
        """The newest `size` events, or the `size` just older than `before` or newer than `after`.
        Raises TenantNotFound (nothing to show for a tenant that never existed) and StoreError."""
        await self._known(tenant_id)
        read = await self._read(tenant_id, limit=size + 1, before=before, after=after)  # one more: is there more?
        more = len(read) > size
        events = read[:size] if after is None else read[len(read) - size :] if more else read
        if not events:
            return HistoryPage(tenant_id, ())
        older_exists = more if after is None else await self._any(tenant_id, before=events[-1].position)
        newer_exists = (
            more if after is not None else before is not None and await self._any(tenant_id, after=events[0].position)
        )
        return HistoryPage(
            tenant_id,
            tuple(events),
            older=events[-1].position if older_exists else None,
            newer=events[0].position if newer_exists else None,
        )

    async def feed(
        self, tenant_id: str, *, before: FeedPosition | None = None, limit: int | None = None
    ) -> AsyncIterator[AuditEvent]:
        """Every event (or the newest `limit`) older than `before`, newest first, read a page at a time."""
        await self._known(tenant_id)
        left = limit
        while left is None or left > 0:
            size = EXPORT_PAGE if left is None else min(EXPORT_PAGE, left)
            events = await self._read(tenant_id, limit=size, before=before)
            for event in events:
                yield event
            if len(events) < size:
                return
            before = events[-1].position
            left = None if left is None else left - len(events)

    async def _known(self, tenant_id: str) -> None:
        if await self.store.get(tenant_id) is None:
            raise TenantNotFound(tenant_id)

    async def _read(
        self, tenant_id: str, *, limit: int, before: FeedPosition | None = None, after: FeedPosition | None = None
    ) -> list[AuditEvent]:
        return await self.store.history(tenant_id, limit=limit, before=before, after=after)

    async def _any(self, tenant_id: str, **edge: FeedPosition) -> bool:
        return bool(await self._read(tenant_id, limit=1, **edge))
