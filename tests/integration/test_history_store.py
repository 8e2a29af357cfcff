"""A tenant's whole audit feed, paged newest first by (time, id), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.domain import AuditEvent, FeedPosition, Tenant, TenantState
from core.history import AuditHistory
from core.persistence import SqlTenantStore
from core.results import TenantNotFound

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def a_long_feed(store: SqlTenantStore, count: int = 230) -> list[AuditEvent]:
    """`count` events of acme, recorded out of time order, two at a time sharing their time, and another
    tenant's events in between; returns acme's, as stored, newest first."""
    await store.add(Tenant("acme", TenantState.PROVISIONING, T0), [])
    await store.add(Tenant("other", TenantState.PROVISIONING, T0), [])
    for i in range(count):
        at = T0 + timedelta(seconds=i // 2 * 37 % 1000, microseconds=7)  # pairs tie; later is not always newer
        await store.append(
            [
                AuditEvent("acme", f"tenant.provisioning.step_{i}", "U1", at, {"n": i}),
                AuditEvent("other", "tenant.provisioning.noise", "U2", at),
            ]
        )
    stored = await store.history("acme", limit=count + 1)
    assert len(stored) == count
    return stored


async def test_paging_older_then_newer_walks_the_whole_feed_once_in_time_order(store: SqlTenantStore) -> None:
    stored = await a_long_feed(store)
    assert [e.position for e in stored] == sorted((e.position for e in stored), reverse=True)
    assert len({e.at for e in stored}) < len(stored)  # some events share their time: the id breaks the tie
    history = AuditHistory(store)
    pages = [await history.page("acme")]
    while pages[-1].older is not None:
        pages.append(await history.page("acme", before=pages[-1].older))
    seen = [e for page in pages for e in page.events]
    assert seen == stored and len(pages) == 12  # 230 events, 20 a page: past 100 and back
    assert pages[0].newest and all(not page.newest for page in pages[1:])
    back = [pages[-1]]
    while back[-1].newer is not None:
        back.append(await history.page("acme", after=back[-1].newer))
    assert [page.events for page in back] == [page.events for page in reversed(pages)]
    assert await store.events("acme", 20) == list(pages[0].events)


async def test_a_page_is_the_same_whatever_is_recorded_meanwhile(store: SqlTenantStore) -> None:
    stored = await a_long_feed(store, 45)
    history = AuditHistory(store)
    first = await history.page("acme")
    assert first.older is not None
    await store.append([AuditEvent("acme", "tenant.provisioning.late", "U1", datetime.now(UTC))])
    second = await history.page("acme", before=first.older)
    assert list(second.events) == stored[20:40] and second.newer == stored[20].position


async def test_the_feed_streams_every_event_or_the_newest_before_a_time(store: SqlTenantStore) -> None:
    stored = await a_long_feed(store)
    history = AuditHistory(store)
    assert [e async for e in history.feed("acme")] == stored
    assert [e async for e in history.feed("acme", limit=150)] == stored[:150]
    cut = stored[60].at
    older = [e async for e in history.feed("acme", before=FeedPosition(cut, 0))]
    assert older == [e for e in stored if e.at < cut]


async def test_the_history_of_a_tenant_that_never_existed_is_not_found(store: SqlTenantStore) -> None:
    with pytest.raises(TenantNotFound):
        await AuditHistory(store).page("nobody")
    await store.add(Tenant("quiet", TenantState.PENDING, T0), [])
    page = await AuditHistory(store).page("quiet")
    assert page.events == () and page.older is None and page.newest
