"""`tenantbot history` as an operator runs it: the whole feed newest first (past 100 events), --limit,
--before, --json lines that parse, and one clear line for bad input."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.domain import AuditEvent, Tenant, TenantState
from core.persistence import open_database
from tests.integration.test_cli import one_line_error, tenantbot

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def seed_feed(data_dir: Path, count: int) -> None:
    """acme with `count` events a minute apart (the last with details); a neighbour's events in between."""

    async def write() -> None:
        database = await open_database(f"sqlite:///{data_dir / 'tenantbot.db'}")
        store = database.tenants
        try:
            for tenant_id in ("acme", "other"):
                await store.add(Tenant(tenant_id, TenantState.ACTIVE, T0), [])
            for i in range(count):
                details = (
                    {"cause": "quota", "request": "U1:17.5:reset:acme", "run": {"id": "r-1"}} if i == count - 1 else {}
                )
                at = T0 + timedelta(minutes=i)
                await store.append(
                    [
                        AuditEvent("acme", f"tenant.provisioning.step_{i:03d}", f"U{i % 3}", at, details),
                        AuditEvent("other", "tenant.provisioning.noise", "U9", at),
                    ]
                )
        finally:
            await database.close()

    asyncio.run(write())


@pytest.fixture(scope="module")
def feed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("history")
    seed_feed(data_dir, 130)
    return data_dir


def test_history_prints_the_whole_feed_newest_first_with_times_actors_and_details(feed_dir: Path) -> None:
    done = tenantbot("history", "acme", data_dir=feed_dir)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 130 and all("noise" not in line for line in lines)
    assert [line.split()[3] for line in lines] == [f"step_{i:03d}" for i in range(129, -1, -1)]
    assert lines[0].startswith("2026-11-20 11:09:00 UTC  step_129")
    assert lines[0].split(maxsplit=5)[4:] == ["U0", 'cause=quota, request=U1:17.5:reset:acme, run={"id": "r-1"}']


def test_limit_and_before_pick_the_newest_events_older_than_a_time(feed_dir: Path) -> None:
    limited = tenantbot("history", "acme", "--limit", "5", data_dir=feed_dir)
    assert [line.split()[3] for line in limited.stdout.splitlines()] == [f"step_{i}" for i in range(129, 124, -1)]
    before = tenantbot("history", "ACME", "--before", "2026-11-20T11:00:00+01:00", "--limit", "3", data_dir=feed_dir)
    assert before.returncode == 0, before.stderr
    assert [line.split()[3] for line in before.stdout.splitlines()] == ["step_059", "step_058", "step_057"]
    naive = tenantbot("history", "acme", "--before", "2026-11-20 09:02", data_dir=feed_dir)  # UTC when unsaid
    assert [line.split()[3] for line in naive.stdout.splitlines()] == ["step_001", "step_000"]
    none = tenantbot("history", "acme", "--before", "2026-11-20", data_dir=feed_dir)
    assert none.stdout.strip() == "no events for acme before 2026-11-20T00:00:00+00:00"


def test_json_emits_one_parseable_object_per_event(feed_dir: Path) -> None:
    done = tenantbot("history", "acme", "--json", data_dir=feed_dir)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(events) == 130 and {e["tenant_id"] for e in events} == {"acme"}
    assert [e["type"] for e in events] == [f"tenant.provisioning.step_{i:03d}" for i in range(129, -1, -1)]
    assert events[0]["details"] == {"cause": "quota", "request": "U1:17.5:reset:acme", "run": {"id": "r-1"}}
    assert datetime.fromisoformat(events[0]["at"]) == T0 + timedelta(minutes=129) and events[0]["actor"] == "U0"
    assert len({e["id"] for e in events}) == 130


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("history", "acme", "--before", "yesterday"), 2, "error: --before: 'yesterday' is not a time; use ISO 8601"),
        (("history", "acme", "--before", "2026-13-01"), 2, "error: --before: '2026-13-01' is not a time"),
        (("history", "ACME 42!"), 2, "is not a tenant id"),
        (("history", "nobody"), 1, "error: no tenant 'nobody'"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(feed_dir: Path, args: tuple[str, ...], code: int, said: str) -> None:
    done = tenantbot(*args, data_dir=feed_dir)
    assert done.returncode == code and said in one_line_error(done)
