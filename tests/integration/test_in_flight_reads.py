"""The wedge scan's reads of in-flight tenants, on SQLite and PostgreSQL: the narrow read's verdict
"progressing" is the decision table's, and the full read gives the same tenants as `get`."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from core.decisions import Limits, Situation, assess
from core.domain import IN_FLIGHT_STATES, Action, ActionClaim, Tenant, TenantState, provisioning_handle
from core.persistence import SqlTenantStore
from core.wedged import LISTED_RUNNING
from tests.fakes import InMemoryStore

NOW = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
LIMITS = Limits()
AGES = (None, timedelta(0), LIMITS.stuck_after - timedelta(microseconds=1), LIMITS.stuck_after, timedelta(hours=6))
CLAIMS = (
    None,
    ActionClaim(Action.RESET, "U1", NOW - timedelta(seconds=5)),
    ActionClaim(Action.RETRY, "U1", NOW - timedelta(hours=1)),
)


def grid() -> list[Tenant]:
    """Every in-flight state with and without a handle, an error, a claim (fresh or stale), and progress
    ages on both sides of STUCK_AFTER (None: never stepped, so its creation counts)."""
    tenants = []
    for n, (state, handled, error, claim, age) in enumerate(
        itertools.product(sorted(IN_FLIGHT_STATES), (True, False), (None, "disk full"), CLAIMS, AGES)
    ):
        created = NOW - (age if age is not None else timedelta(minutes=3))
        tenants.append(
            Tenant(
                f"t{n:03d}",
                TenantState(state),
                created - timedelta(seconds=1) if age is not None else created,
                handle=provisioning_handle(f"t{n:03d}", 1) if handled else None,
                attempt=1,
                error=error,
                last_progress_at=NOW - age if age is not None else None,
                last_heartbeat_at=NOW - timedelta(hours=1),
                claim=claim,
            )
        )
    return tenants


def making_progress_if_running(tenant: Tenant) -> bool:
    """The table's verdict for a running run; claimed rows are read in full whatever the claim's age."""
    situation = assess(tenant, LISTED_RUNNING, now=NOW, limits=LIMITS).situation
    return situation is Situation.MAKING_PROGRESS and tenant.claim is None


async def test_progressing_is_the_decision_tables_making_progress_for_a_running_run(store: SqlTenantStore) -> None:
    fake = InMemoryStore()
    for tenant in grid():
        await store.add(tenant, [])
        await fake.add(tenant, [])
    expected = {t.id: making_progress_if_running(t) for t in grid()}
    assert sum(expected.values()) == 6  # pending, provisioning: handled, clean, unclaimed, 3 ages within STUCK_AFTER
    for reader in (store, fake):
        refs = await reader.in_flight_refs(NOW - LIMITS.stuck_after)
        assert {r.tenant_id: r.progressing for r in refs} == expected
        assert {r.tenant_id: r.handle for r in refs} == {t.id: t.handle for t in grid()}


async def test_the_full_read_gives_every_in_flight_tenant_or_those_asked_for_as_get_does(
    store: SqlTenantStore,
) -> None:
    for n, state in enumerate(TenantState):
        await store.add(Tenant(f"s{n}", state, NOW, handle=provisioning_handle(f"s{n}", 1), claim=CLAIMS[1]), [])
    in_flight = await store.in_flight()
    assert {t.state for t in in_flight} == IN_FLIGHT_STATES
    assert in_flight == [await store.get(t.id) for t in in_flight]
    some = {in_flight[0].id, in_flight[1].id, "s-unknown"}
    assert {t.id for t in await store.in_flight(some)} == some - {"s-unknown"}
    assert await store.in_flight(set()) == []
