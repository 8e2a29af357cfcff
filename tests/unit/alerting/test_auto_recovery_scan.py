"""The scan tick's auto-recovery (core/auto_recovery.py): it records a Reset and Retry batch for the orphaned
tenants it found, announces it once in the alert channel with how to stop it, and leaves everything alone
while frozen or in a dry run (the world: tests/unit/scan_world.py; batches in its SQLite file)."""

from __future__ import annotations

from core.alerting.scanner import Scanner
from core.auto_recovery import ACTOR, AutoRecovery
from core.batches import Kind
from core.decisions import Situation
from core.freeze import Freeze
from core.ports import StoreError
from tenantbot.console_notifier import ConsoleNotifier
from tests.unit.scan_world import World


def auto(world: World, cap: int = 50) -> AutoRecovery:
    return AutoRecovery(world.batches, {Situation.WEDGED_ORPHANED}, cap=cap, clock=world.clock)


async def orphaned(world: World, count: int) -> None:
    for i in range(count):
        await world.tenant(f"o{i}", known=False)  # the engine holds no run for its handle


async def test_a_tick_starts_one_batch_for_the_orphans_and_announces_it_once(world: World) -> None:
    await orphaned(world, 3)
    await world.tenant("hung")  # wedged with no progress: a judgement call, left alone
    report = await world.scanner(auto=auto(world, cap=10), freezes=world.freezes).tick()
    [batch] = await world.batches.running()
    assert report.auto_batches == 1
    assert (batch.kind, batch.created_by, batch.total, batch.situation) == (
        Kind.RESET_RETRY,
        ACTOR,
        3,
        Situation.WEDGED_ORPHANED,
    )
    assert [m.tenant_id for m in await world.batches.members(batch.id)] == ["o0", "o1", "o2"]
    assert ("announce_batch", f"batch {batch.id}: 3 reset-retry, 7 left") in world.slack.sent
    [announced] = [ref for ref, owner in world.slack.owners.items() if owner == "announcement"]
    assert batch.message_ref == announced  # the announcement shows its progress from there on
    again = await world.scanner(auto=auto(world, cap=10), freezes=world.freezes).tick()
    assert again.auto_batches == 0 and world.slack.kinds().count("announce_batch") == 1


async def test_nothing_is_started_while_frozen(world: World) -> None:
    await orphaned(world, 2)
    await world.freezes.freeze(Freeze("U1", world.now, "cluster maintenance"))
    report = await world.scanner(auto=auto(world), freezes=world.freezes).tick()
    assert report.auto_batches == 0 and await world.batches.recent(5) == []


async def test_a_dry_run_scan_starts_nothing(world: World) -> None:
    await orphaned(world, 2)
    dry = Scanner(
        world.store, world.alerts, ConsoleNotifier(echo=lambda _: None), world.finder,
        leases=world.leases, holder="cli", clock=world.clock, auto=auto(world),
    )  # fmt: skip
    assert (await dry.tick()).auto_batches == 0 and await world.batches.recent(5) == []


async def test_an_announcement_slack_refused_is_posted_at_the_next_tick(world: World) -> None:
    await orphaned(world, 2)
    scanner = world.scanner(auto=auto(world))
    world.slack.fail_next = 3  # the two alerts' posts go first; the announcement fails after them
    await scanner.tick()
    [batch] = await world.batches.running()
    assert "announce_batch" not in world.slack.kinds()
    report = await scanner.tick()
    assert report.auto_batches == 0  # not started again: only announced
    assert [s for s in world.slack.sent if s[0] == "announce_batch"] == [
        ("announce_batch", f"batch {batch.id}: 2 reset-retry, 48 left")
    ]


async def test_a_batches_table_that_cannot_be_read_costs_the_auto_batches_not_the_tick(world: World) -> None:
    await orphaned(world, 2)
    recovery = auto(world)

    async def down(created_by: str, since: object) -> list[str]:
        raise StoreError("database unreachable (fake)")

    recovery.batches.members_since = down  # type: ignore[method-assign]
    report = await world.scanner(auto=recovery).tick()
    assert report.ran and report.auto_batches == 0 and report.opened == 2
    assert world.slack.kinds() == ["post", "post"]
