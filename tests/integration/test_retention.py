"""Retention on SQLite and PostgreSQL: what is older than AUDIT_RETENTION goes, in small batches and slices
under the scan's lease, and what must stay stays (the last events of unfinished tenants, open alerts,
digests with members, anything recent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.alerting.scanner import SCAN_LOCK
from core.decisions import Situation
from core.domain import AuditEvent, FeedPosition, Tenant, TenantState
from core.persistence import Database
from core.persistence.orm import (
    AlertRow,
    AnnouncementRow,
    BatchMemberRow,
    BatchRow,
    DecommissionRequestRow,
    DigestRow,
    RequestKeyRow,
)
from core.retention import Batch, Pruned, Retention

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
KEEP_FOR = timedelta(days=400)
S = TenantState
WANTED = {
    Pruned.AUDIT_EVENTS: 99,
    Pruned.REQUEST_KEYS: 3,
    Pruned.RESOLVED_ALERTS: 3,
    Pruned.DIGESTS: 2,
    Pruned.ANNOUNCEMENTS: 2,
    Pruned.DECOMMISSION_REQUESTS: 2,
    Pruned.BATCHES: 1,
}


async def an_old_database(database: Database, now: datetime = NOW) -> None:
    """Tenants in every kind of state with old events interleaved in time, request keys, alerts and digests:
    what retention deletes is WANTED."""
    old, recent = now - timedelta(days=500), now - timedelta(days=10)
    feeds: dict[str, tuple[TenantState | None, int]] = {"done-1": (S.ACTIVE, 70), "gone-1": (S.DECOMMISSIONED, 5)}
    feeds |= {
        "failed-1": (S.FAILED, 70),
        "live-1": (S.PROVISIONING, 30),
        "ghost-1": (None, 4),
    }  # ghost: events of a tenant with no row
    for tenant_id, (state, _) in feeds.items():
        if state is not None:
            await database.tenants.add(Tenant(tenant_id, state, old), [])
    for i in range(70):
        at = old + timedelta(minutes=i)
        await database.tenants.append(
            [AuditEvent(t, f"tenant.provisioning.step_{i:02d}", "U1", at) for t, (_, n) in feeds.items() if i < n]
        )
    await database.tenants.append(
        [AuditEvent("done-1", "tenant.provisioning.recent", "U1", recent + timedelta(i)) for i in range(3)]
    )
    async with async_sessionmaker(database.engine).begin() as session:
        session.add_all(RequestKeyRow(key=f"old-{i}", at=old) for i in range(3))
        session.add_all(RequestKeyRow(key=f"new-{i}", at=recent) for i in range(2))
        line = {"kind": "action", "tenant_id": "done-1", "actor": "U1", "action": "reset", "failures": 0}
        session.add_all(AnnouncementRow(event_id=i, at=at, **line) for i, at in enumerate((old, old, recent)))
        goes, empty, kept, held, fresh = (
            DigestRow(opened_at=at, revision=0, shown_revision=0, failures=0) for at in (old, old, old, old, recent)
        )
        session.add_all([goes, empty, kept, held, fresh])
        await session.flush()
        alert = {
            "situation": Situation.WEDGED_ORPHANED.key,
            "reason": "gone",
            "revision": 1,
            "shown_revision": 1,
            "failures": 0,
        }
        session.add_all(
            [
                AlertRow(tenant_id="a", opened_at=old, resolved_at=old, digest_id=goes.id, **alert),
                AlertRow(tenant_id="b", opened_at=old, resolved_at=old, digest_id=goes.id, **alert),
                AlertRow(tenant_id="c", opened_at=old, resolved_at=old, **alert),
                AlertRow(tenant_id="d", opened_at=old, resolved_at=recent, digest_id=kept.id, **alert),
                AlertRow(tenant_id="e", opened_at=old, digest_id=held.id, **alert),  # still open, however old
            ]
        )  # fmt: skip
        session.add_all(decommission_requests(old, recent))
        goes_batch, running, stopped = (
            batch(at, status) for at, status in ((old, "finished"), (old, "running"), (recent, "stopped"))
        )
        session.add_all([goes_batch, running, stopped])
        await session.flush()
        session.add_all(
            BatchMemberRow(batch_id=b.id, tenant_id=f"m-{i}", position=i, status="done")
            for b in (goes_batch, running, stopped)
            for i in range(3)
        )


def decommission_requests(old: datetime, recent: datetime) -> list[DecommissionRequestRow]:
    """Two decided long ago (they go), one pending however old and one decided recently (they stay)."""
    asked = {"tenant_id": "gone-1", "requester": "U1", "reason": "churned", "origin_channel": "C1"}
    return [
        DecommissionRequestRow(**asked, requested_at=old, expires_at=old, request_key=f"view:{key}", state=state,
                               decided_by=by, decided_at=at)
        for key, state, by, at in (
            ("a", "approved", "U2", old),
            ("b", "expired", None, old),
            ("c", "pending", None, None),
            ("d", "denied", "U1", recent),
        )
    ]  # fmt: skip


def batch(at: datetime, status: str) -> BatchRow:
    return BatchRow(
        kind="reset", situation=Situation.WEDGED_ORPHANED.key, reason="cluster reset", rate=5.0, canary=0,
        created_by="U1", created_at=at, status=status, ended_at=None if status == "running" else at,
    )  # fmt: skip


def retention(database: Database, *, batch: int = 7, hold_for: timedelta = timedelta(minutes=1)) -> Retention:
    return Retention(
        database.retention,
        database.leases,
        keep_for=KEEP_FOR,
        lock=SCAN_LOCK,
        holder="host:1:abc:retention",
        clock=lambda: NOW,
        lease=timedelta(minutes=2),
        batch=batch,
        hold_for=hold_for,
    )


async def no_pause() -> None:
    return None


async def left(database: Database) -> dict[str, object]:
    async with async_sessionmaker(database.engine)() as session:
        keys = set(await session.scalars(select(RequestKeyRow.key)))
        alerts = set(await session.scalars(select(AlertRow.tenant_id)))
        digests = await session.scalar(select(func.count()).select_from(DigestRow))
        requests = set(await session.scalars(select(DecommissionRequestRow.request_key)))
        batches = set(await session.scalars(select(BatchRow.status)))
        members = await session.scalar(select(func.count()).select_from(BatchMemberRow))
    feeds = {
        t: len(await database.tenants.history(t, limit=1000))
        for t in ("done-1", "gone-1", "failed-1", "live-1", "ghost-1")
    }
    return {
        "feeds": feeds,
        "keys": keys,
        "alerts": alerts,
        "digests": digests,
        "requests": requests,
        "batches": batches,
        "members": members,
    }


async def test_a_dry_run_counts_what_a_run_then_deletes_and_nothing_more(database: Database) -> None:
    await an_old_database(database)
    before = await left(database)
    counted = await retention(database).count()
    assert counted.dry_run and counted.counts == WANTED and counted.before == NOW - KEEP_FOR
    assert await left(database) == before  # a dry run deletes nothing
    report = await retention(database).prune(no_pause)
    assert report.counts == WANTED and report.done and report.ran and not report.lease_lost
    assert (await retention(database).count()).total == 0


async def test_prune_keeps_the_last_events_of_unfinished_tenants_open_alerts_and_anything_recent(
    database: Database,
) -> None:
    await an_old_database(database)
    await retention(database).prune(no_pause)
    after = await left(database)
    assert after["feeds"] == {"done-1": 3, "gone-1": 0, "failed-1": 50, "live-1": 30, "ghost-1": 0}
    kept = await database.tenants.history("failed-1", limit=100)
    assert [e.type[-7:] for e in kept] == [f"step_{i:02d}" for i in range(69, 19, -1)]  # its newest 50
    assert after["keys"] == {"new-0", "new-1"}
    assert after["alerts"] == {"d", "e"}  # resolved recently, and still open
    assert after["digests"] == 3  # the two with a member left (resolved recently, open), and the recent one
    assert after["requests"] == {"view:c", "view:d"}  # pending however old, and decided recently
    assert after["batches"] == {"running", "stopped"} and after["members"] == 6  # the old one's members went with it
    assert [e.type for e in await database.tenants.history("done-1", limit=10)] == ["tenant.provisioning.recent"] * 3


async def test_slices_give_the_lease_back_in_between_so_a_scan_can_run(database: Database) -> None:
    await an_old_database(database)
    scans = 0

    async def a_scan_runs() -> None:
        nonlocal scans
        assert await database.leases.try_lock(SCAN_LOCK, "scanner", now=NOW, ttl=timedelta(minutes=2))
        await database.leases.unlock(SCAN_LOCK, "scanner")
        scans += 1

    report = await retention(database, batch=7, hold_for=timedelta(0)).prune(a_scan_runs)  # one batch a slice
    assert report.counts == WANTED and report.done
    assert scans >= 99 // 7  # a pause (and a scan) after every slice but the last


async def test_nothing_is_deleted_while_another_replica_holds_the_scan_lease(database: Database) -> None:
    await an_old_database(database)
    assert await database.leases.try_lock(SCAN_LOCK, "other-replica", now=NOW, ttl=timedelta(minutes=2))
    pauses = 0

    async def waited() -> None:
        nonlocal pauses
        pauses += 1

    report = await retention(database).prune(waited, busy_tries=3)
    assert (report.ran, report.done, report.total, pauses) == (False, False, 0, 2)
    assert (await retention(database).count()).counts == WANTED


async def test_a_run_whose_lease_another_replica_took_stops_before_its_next_batch(database: Database) -> None:
    await an_old_database(database)

    class Overtaken:
        """The lease runs out during the first batch and another replica takes it."""

        def __init__(self) -> None:
            self.batches = 0

        async def count_old(self, kind: Pruned, before: datetime, *, keep_last: int) -> int:
            return await database.retention.count_old(kind, before, keep_last=keep_last)

        async def prune(
            self, kind: Pruned, before: datetime, *, keep_last: int, limit: int, after: FeedPosition | None = None
        ) -> Batch:
            self.batches += 1
            await database.leases.try_lock(
                SCAN_LOCK, "other-replica", now=NOW + timedelta(hours=1), ttl=timedelta(minutes=2)
            )
            return await database.retention.prune(kind, before, keep_last=keep_last, limit=limit, after=after)

    rows = Overtaken()
    run = retention(database)
    run.rows = rows
    report = await run.prune(no_pause)
    assert report.lease_lost and not report.done and rows.batches == 1 and report.total == 7
