"""The SQLAlchemy store on SQLite and PostgreSQL: every port method, with the fake's semantics."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.event import listen as event_listen
from sqlalchemy.pool import QueuePool

from core.actions import claim_for, claimed
from core.alerting.model import Alert
from core.causes import Cause
from core.decisions import Situation
from core.domain import Action, ActionClaim, Allocation, AuditEvent, Tenant, TenantState, provisioning_handle
from core.freeze import Freeze
from core.persistence import Database, SqlAlertStore, SqlLeases, SqlTenantStore, open_database
from core.ports import AllocationChanges, ConcurrentUpdate, DuplicateRequest, StoreError, TenantExists

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HANDLE = provisioning_handle("acme", 1)


def tenant(tenant_id: str = "acme", state: TenantState = TenantState.PROVISIONING) -> Tenant:
    return Tenant(tenant_id, state, T0, handle=HANDLE, attempt=1, current_step="seed_data", last_progress_at=T0)


def event(kind: str, tenant_id: str = "acme", **details: object) -> AuditEvent:
    return AuditEvent(tenant_id, f"tenant.provisioning.{kind}", "U1", T0, dict(details))


class TestTenants:
    async def test_a_tenant_round_trips_with_its_handle_claim_and_utc_times(self, store: SqlTenantStore) -> None:
        claim = ActionClaim(Action.RESET, "U1", T0 + timedelta(seconds=5))
        paris = timezone(timedelta(hours=1))
        added = await store.add(tenant().updated(claim=claim, last_heartbeat_at=T0.astimezone(paris)), [])
        loaded = await store.get("acme")
        assert loaded == added
        assert loaded is not None and loaded.last_heartbeat_at is not None
        assert loaded.last_heartbeat_at.tzinfo == UTC and loaded.last_heartbeat_at == T0

    async def test_a_claim_round_trips_with_its_owner_target_and_changed_fields(self, store: SqlTenantStore) -> None:
        failed = tenant(state=TenantState.FAILED).updated(error="quota", last_heartbeat_at=T0)
        claim = claim_for(Action.RETRY, failed, "U1", T0 + timedelta(seconds=5), "host:42:beef")
        added = await store.add(claimed(failed, claim), [])
        loaded = await store.get("acme")
        assert loaded == added and loaded is not None and loaded.claim is not None
        assert loaded.claim.target == provisioning_handle("acme", 2)
        assert loaded.claim.changes["handle"] == (HANDLE, provisioning_handle("acme", 2))
        assert loaded.claim.changes["state"] == (TenantState.FAILED, TenantState.PENDING)
        assert loaded.claim.changes["last_progress_at"] == (T0, T0 + timedelta(seconds=5))

    async def test_claimed_lists_every_claimed_tenant_whatever_its_state(self, store: SqlTenantStore) -> None:
        claim = ActionClaim(Action.CANCEL, "U1", T0, "host:1:a")
        await store.add(tenant("busy").updated(claim=claim), [])
        await store.add(tenant("done", TenantState.CANCELLED).updated(claim=claim), [])
        await store.add(tenant("idle"), [])
        assert sorted(t.id for t in await store.claimed()) == ["busy", "done"]

    async def test_adding_an_existing_id_is_refused(self, store: SqlTenantStore) -> None:
        await store.add(tenant(), [])
        with pytest.raises(TenantExists, match="already exists"):
            await store.add(tenant(), [])

    async def test_save_bumps_the_version_and_appends_events_atomically(self, store: SqlTenantStore) -> None:
        added = await store.add(tenant(), [event("requested")])
        saved = await store.save(added.updated(error="boom"), [event("error_recorded", error="boom")])
        assert saved.version == added.version + 1
        assert await store.get("acme") == saved
        assert [e.type for e in await store.events("acme", 10)] == [
            "tenant.provisioning.error_recorded",
            "tenant.provisioning.requested",
        ]

    async def test_a_stale_version_writes_nothing(self, store: SqlTenantStore) -> None:
        added = await store.add(tenant(), [])
        await store.save(added.updated(current_step="activate"), [])
        with pytest.raises(ConcurrentUpdate):
            await store.save(added.updated(error="lost update"), [event("error_recorded")])
        current = await store.get("acme")
        assert current is not None and current.error is None and current.current_step == "activate"
        assert await store.events("acme", 10) == []

    async def test_a_request_key_is_accepted_once(self, store: SqlTenantStore) -> None:
        added = await store.add(tenant(), [])
        saved = await store.save(added, [event("reset_started")], request_key="T1:1.5:U1")
        assert await store.seen_request("T1:1.5:U1")
        with pytest.raises(DuplicateRequest):
            await store.save(saved, [event("reset_started")], request_key="T1:1.5:U1")
        assert len(await store.events("acme", 10)) == 1

    async def test_in_flight_lists_only_unfinished_tenants(self, store: SqlTenantStore) -> None:
        for i, state in enumerate(TenantState):
            await store.add(tenant(f"t{i}", state), [])
        assert {t.state for t in await store.in_flight()} == {
            TenantState.PENDING,
            TenantState.PROVISIONING,
            TenantState.CANCELLING,
            TenantState.DECOMMISSIONING,
        }

    async def test_list_returns_the_most_recently_changed_first(self, store: SqlTenantStore) -> None:
        first = await store.add(tenant("first"), [])
        await store.add(tenant("second"), [])
        await store.save(first.updated(error="x"), [])
        assert [t.id for t in await store.list(10)] == ["first", "second"]


class TestAllocations:
    async def test_an_allocation_is_recorded_once_per_kind(self, store: SqlTenantStore) -> None:
        current = await store.add(tenant(), [])
        storage = Allocation("acme", "storage", "vol-1", T0, HANDLE.workflow_id)
        current = await store.save(current, [], allocations=AllocationChanges(add=(storage,)))
        again = Allocation("acme", "storage", "vol-2", T0, HANDLE.workflow_id)
        await store.save(current, [], allocations=AllocationChanges(add=(again,)))
        assert await store.allocations("acme") == [storage]

    async def test_a_released_allocation_is_no_longer_held_and_can_be_made_again(self, store: SqlTenantStore) -> None:
        current = await store.add(tenant(), [])
        storage = Allocation("acme", "storage", "vol-1", T0)
        current = await store.save(current, [], allocations=AllocationChanges(add=(storage,)))
        current = await store.save(current, [], allocations=AllocationChanges(release=("storage",), released_at=T0))
        assert await store.allocations("acme") == []
        fresh = Allocation("acme", "storage", "vol-2", T0)
        await store.save(current, [], allocations=AllocationChanges(add=(fresh,)))
        assert await store.allocations("acme") == [fresh]


class TestRecords:
    async def test_a_record_is_the_row_open_allocations_newest_events_and_the_switch_read_together(
        self, database: Database
    ) -> None:
        store = database.tenants
        await store.add(tenant(), [event(f"step_{n}") for n in range(12)])
        held = [Allocation("acme", kind, f"{kind}-1", T0, HANDLE.workflow_id) for kind in ("network", "db", "dns")]
        changes = AllocationChanges(add=tuple(held), release=("dns",))
        await store.save((await store.get("acme")) or tenant(), [], allocations=changes)
        record = await store.record("acme", lambda _: 8)
        assert record is not None and record.tenant == await store.get("acme") and record.switch is None
        assert record.allocations == tuple(await store.allocations("acme")) and len(record.allocations) == 2
        assert record.events == tuple(await store.events("acme", 8)) and record.problems == ()
        frozen = await database.freezes.freeze(Freeze("U1", T0, "failover"))
        assert (await store.record("acme", lambda _: 8)) == replace(record, switch=frozen)
        assert await store.record("nobody", lambda _: 8) is None
        asked = await store.record("acme", lambda row: 3 if row.attempt == 1 else 12)  # as many as its row calls for
        assert asked is not None and asked.events == tuple(await store.events("acme", 3))

    async def test_a_record_takes_one_connection_from_the_pool_once(self, database: Database) -> None:
        await database.tenants.add(tenant(), [event("started")])
        checkouts: list[object] = []
        event_listen(database.engine.sync_engine, "checkout", lambda *args: checkouts.append(args))
        await database.tenants.record("acme", lambda _: 8)
        assert len(checkouts) == 1
        await database.tenants.get("acme")
        await database.tenants.events("acme", 8)
        assert len(checkouts) == 3  # each of the parts on its own takes one


async def test_the_pool_keeps_the_connections_asked_for_and_opens_as_many_again_in_a_burst(database_url: str) -> None:
    database = await open_database(database_url, pool_size=3)
    try:
        engine = database.engine
        connections = [await engine.connect() for _ in range(6)]
        pool = engine.pool
        assert isinstance(pool, QueuePool) and (pool.size(), pool.checkedout(), pool.overflow()) == (3, 6, 3)
        for connection in connections:
            await connection.close()
    finally:
        await database.close()


class TestAlertsAndLocks:
    async def test_one_open_alert_per_tenant(self, alerts: SqlAlertStore) -> None:
        first = await alerts.open_alert(Alert("acme", Situation.WEDGED_NO_PROGRESS, "stuck", T0))
        assert first is not None and first.id is not None
        assert await alerts.open_alert(Alert("acme", Situation.WEDGED_ORPHANED, "gone", T0)) is None
        assert await alerts.resolve(first.id, T0, "reset_completed by U1", None)
        assert await alerts.open_alerts() == []
        assert await alerts.open_alert(Alert("acme", Situation.WEDGED_ORPHANED, "again", T0)) is not None

    async def test_a_resolved_alert_is_never_resolved_again_snoozed_or_revised(self, alerts: SqlAlertStore) -> None:
        alert = await alerts.open_alert(Alert("acme", Situation.WEDGED_NO_PROGRESS, "stuck", T0))
        assert alert is not None and alert.id is not None
        assert await alerts.resolve(alert.id, T0, "reset_completed by U1", "Resolved.")
        assert not await alerts.resolve(alert.id, T0 + timedelta(minutes=1), "the tenant is no longer wedged", None)
        assert not await alerts.snooze(alert.id, T0 + timedelta(hours=1), "U8")
        assert not await alerts.revise(alert.id, Situation.WEDGED_ORPHANED, "gone", at=T0, visible=True)
        after = await alerts.alert(alert.id)
        assert after is not None and after.resolution == "reset_completed by U1" and after.snoozed_until is None

    async def test_an_alert_keeps_its_cause_through_a_revision(self, alerts: SqlAlertStore) -> None:
        opened = await alerts.open_alert(
            Alert("acme", Situation.WEDGED_ERROR, "boom", T0, step="seed_data", error="x #")
        )
        assert opened is not None and opened.id is not None and (opened.step, opened.error) == ("seed_data", "x #")
        assert await alerts.revise(
            opened.id, Situation.WEDGED_ORPHANED, "gone", at=T0, visible=False, step="activate", error=None
        )
        after = await alerts.alert(opened.id)
        assert after is not None and after.cause == Cause(Situation.WEDGED_ORPHANED, "activate", None)

    async def test_the_latest_posted_alert_of_each_tenant_is_found(self, alerts: SqlAlertStore) -> None:
        ttl = timedelta(minutes=5)
        for n, tenant_id in enumerate(("acme", "acme", "beta")):
            alert = await alerts.open_alert(Alert(tenant_id, Situation.WEDGED_ORPHANED, "gone", T0))
            assert alert is not None and alert.id is not None
            assert await alerts.claim("alert", alert.id, "a", now=T0, ttl=ttl, unposted=True) is not None
            assert await alerts.mark_posted("alert", alert.id, "a", f"C1/{n}", 0)
            assert await alerts.resolve(alert.id, T0, "reset_completed by U1", None)
        assert await alerts.open_alert(Alert("acme", Situation.WEDGED_ORPHANED, "never posted", T0)) is not None
        latest = await alerts.latest_alerts(["acme", "beta", "gamma"])
        assert {t: a.message_ref for t, a in latest.items()} == {"acme": "C1/1", "beta": "C1/2"}

    async def test_a_write_touches_only_its_own_columns(self, alerts: SqlAlertStore) -> None:
        alert = await alerts.open_alert(Alert("acme", Situation.WEDGED_NO_PROGRESS, "stuck", T0))
        assert alert is not None and alert.id is not None
        assert await alerts.snooze(alert.id, T0 + timedelta(hours=1), "U8")
        assert await alerts.revise(alert.id, Situation.WEDGED_ORPHANED, "gone", at=T0, visible=True)
        after = await alerts.alert(alert.id)
        assert after is not None and (after.snoozed_by, after.situation, after.revision) == (
            "U8",
            Situation.WEDGED_ORPHANED,
            2,
        )

    async def test_waking_ends_only_the_snooze_that_ran_out(self, alerts: SqlAlertStore) -> None:
        alert = await alerts.open_alert(Alert("acme", Situation.WEDGED_NO_PROGRESS, "stuck", T0))
        assert alert is not None and alert.id is not None
        first, second = T0 + timedelta(minutes=30), T0 + timedelta(hours=4)
        await alerts.snooze(alert.id, first, "U8")
        await alerts.snooze(alert.id, second, "U9")  # snoozed again before the first ran out
        assert not await alerts.wake(alert.id, first, "Still wedged")
        assert await alerts.wake(alert.id, second, "Still wedged")
        after = await alerts.alert(alert.id)
        assert after is not None and after.snoozed_until is None and after.reply_pending == "Still wedged"

    async def test_a_message_is_claimed_by_one_holder_until_it_posts_or_the_claim_expires(
        self, alerts: SqlAlertStore
    ) -> None:
        alert = await alerts.open_alert(Alert("acme", Situation.WEDGED_NO_PROGRESS, "stuck", T0))
        assert alert is not None and alert.id is not None
        ttl = timedelta(minutes=5)
        assert await alerts.claim("alert", alert.id, "a", now=T0, ttl=ttl, unposted=True) is not None
        assert await alerts.claim("alert", alert.id, "b", now=T0, ttl=ttl, unposted=True) is None
        assert await alerts.claim("alert", alert.id, "b", now=T0 + ttl, ttl=ttl, unposted=True) is not None
        assert not await alerts.mark_posted("alert", alert.id, "a", "C1/1", 0)  # a's claim ran out
        assert await alerts.mark_posted("alert", alert.id, "b", "C1/2", 0)
        assert await alerts.claim("alert", alert.id, "a", now=T0 + 2 * ttl, ttl=ttl, unposted=True) is None
        posted = await alerts.alert(alert.id)
        assert posted is not None and posted.message_ref == "C1/2"

    async def test_pending_edits_and_replies_stay_until_delivered(self, alerts: SqlAlertStore) -> None:
        alert = await alerts.open_alert(Alert("acme", Situation.WEDGED_NO_PROGRESS, "stuck", T0))
        assert alert is not None and alert.id is not None
        ttl = timedelta(minutes=5)
        await alerts.claim("alert", alert.id, "a", now=T0, ttl=ttl, unposted=True)
        await alerts.mark_posted("alert", alert.id, "a", "C1/1", 0)
        await alerts.resolve(alert.id, T0, "reset_completed by U1", "Resolved.")
        assert [a.id for a in await alerts.undelivered()] == [alert.id]
        claimed = await alerts.claim("alert", alert.id, "a", now=T0, ttl=ttl, unposted=False)
        assert claimed is not None and (claimed.revision, claimed.reply_pending) == (1, "Resolved.")
        await alerts.mark_delivered("alert", alert.id, "a", revision=1, reply=None, failed=True)  # edit only
        [left] = await alerts.undelivered()
        assert (left.shown_revision, left.reply_pending, left.failures) == (1, "Resolved.", 1)
        await alerts.claim("alert", alert.id, "a", now=T0, ttl=ttl, unposted=False)
        await alerts.mark_delivered("alert", alert.id, "a", revision=1, reply="Resolved.", failed=False)
        assert await alerts.undelivered() == []

    async def test_a_digest_posts_for_its_members_and_gathers_their_replies(self, alerts: SqlAlertStore) -> None:
        digest = await alerts.open_digest(T0)
        members = [
            await alerts.open_alert(Alert(f"t{i}", Situation.WEDGED_ORPHANED, "gone", T0, digest_id=digest.id))
            for i in range(3)
        ]
        await alerts.claim("digest", digest.id, "a", now=T0, ttl=timedelta(minutes=5), unposted=True)
        assert await alerts.mark_posted("digest", digest.id, "a", "C1/9", 0)
        assert {m.message_ref for m in await alerts.digest_members(digest.id)} == {"C1/9"}
        await alerts.touch_digest(digest.id, "• t0 resolved")
        await alerts.touch_digest(digest.id, "• t1 resolved")
        [pending] = await alerts.undelivered()  # the digest; its members have no message of their own
        assert pending.id == digest.id and pending.reply_pending == "• t0 resolved\n• t1 resolved"
        assert len(members) == 3

    async def test_a_lease_has_one_holder_until_it_expires(self, leases: SqlLeases) -> None:
        ttl = timedelta(minutes=1)
        assert await leases.try_lock("scan", "a", now=T0, ttl=ttl)
        assert not await leases.try_lock("scan", "b", now=T0 + timedelta(seconds=30), ttl=ttl)
        assert await leases.try_lock("scan", "a", now=T0 + timedelta(seconds=30), ttl=ttl)
        assert await leases.try_lock("scan", "b", now=T0 + timedelta(minutes=2), ttl=ttl)
        await leases.unlock("scan", "b")
        assert await leases.try_lock("scan", "c", now=T0 + timedelta(minutes=2), ttl=ttl)

    async def test_the_holders_of_live_leases_are_listed_by_name_prefix(self, leases: SqlLeases) -> None:
        ttl = timedelta(seconds=30)
        await leases.try_lock("alive:a", "host:1:a", now=T0, ttl=ttl)
        await leases.try_lock("alive:b", "host:2:b", now=T0 + timedelta(seconds=20), ttl=ttl)
        await leases.try_lock("scan", "host:1:a", now=T0, ttl=ttl)
        assert await leases.holders("alive:", now=T0 + timedelta(seconds=10)) == {"host:1:a", "host:2:b"}
        assert await leases.holders("alive:", now=T0 + timedelta(seconds=30)) == {"host:2:b"}  # a's ran out


async def test_long_errors_and_unicode_details_are_kept_whole(store: SqlTenantStore) -> None:
    added = await store.add(tenant(), [])
    message = "é" * 5000
    await store.save(added.updated(error=message), [event("error_recorded", error=message, attempt=3)])
    loaded = await store.get("acme")
    assert loaded is not None and loaded.error == message
    assert (await store.events("acme", 1))[0].details == {"error": message, "attempt": 3}


async def test_a_database_that_is_down_gives_a_short_store_error_fast() -> None:
    started = time.monotonic()
    with pytest.raises(StoreError) as error:
        await open_database("postgresql://postgres@127.0.0.1:1/test")
    assert time.monotonic() - started < 5
    assert "\n" not in str(error.value) and "Traceback" not in str(error.value)


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url"])
async def test_an_unsupported_database_url_is_refused_clearly(url: str) -> None:
    with pytest.raises(StoreError, match=r"unsupported database|not a database URL"):
        await open_database(url)
