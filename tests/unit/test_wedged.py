"""Finding wedged tenants: one listing, one visibility call, bounded and kept describes (core/wedged.py;
the world it runs in: tests/unit/scan_world.py)."""

from __future__ import annotations

from core.decisions import Limits, Situation
from core.domain import RunObservation, RunStatus, TenantState
from tests.fakes import at
from tests.unit.scan_world import World


class TestWedgeFinder:
    async def test_only_suspicious_runs_are_described(self, world: World) -> None:
        await world.tenant("busy", stuck=False)
        await world.tenant("stuck")
        sweep = await world.finder.sweep(world.now)
        assert list(sweep.wedged) == ["stuck"]
        assert (world.calls("describe"), world.calls("list_running")) == (1, 1)

    async def test_runs_missing_from_the_listing_are_told_apart_by_one_visibility_call(self, world: World) -> None:
        for i in range(40):
            await world.tenant(f"gone{i}", known=False)
        for i in range(10):
            closed = await world.tenant(f"closed{i}")
            world.engine.set(closed.handle, RunObservation(RunStatus.TERMINATED))
        sweep = await world.finder.sweep(world.now)
        situations = {tenant_id: a.situation for tenant_id, a in sweep.wedged.items()}
        assert [situations[f"gone{i}"] for i in range(40)] == [Situation.WEDGED_ORPHANED] * 40
        assert [situations[f"closed{i}"] for i in range(10)] == [Situation.WEDGED_ENGINE_CLOSED] * 10
        assert "terminated" in sweep.wedged["closed0"].reason
        assert (world.calls("list_running"), world.calls("run_statuses"), world.calls("describe")) == (1, 1, 0)

    async def test_a_freshly_started_run_missing_from_the_listing_is_not_flagged(self, world: World) -> None:
        await world.tenant("fresh", stuck=False, known=False)
        world.finder.describe_budget, world.now = 0, at(29, 10)
        assert (await world.finder.sweep(world.now)).wedged == {}

    async def test_a_cancel_whose_run_closed_is_found_like_any_in_flight_state(self, world: World) -> None:
        cancelling = await world.tenant("cancelling", state=TenantState.CANCELLING)
        world.engine.set(cancelling.handle, RunObservation(RunStatus.TERMINATED))
        sweep = await world.finder.sweep(world.now)
        assert sweep.wedged["cancelling"].situation is Situation.WEDGED_ENGINE_CLOSED

    async def test_a_stable_wedge_is_described_once_not_every_tick(self, world: World) -> None:
        await world.tenant("stuck")
        for minute in range(3):
            world.now = at(30, minute * 20)
            assert list((await world.finder.sweep(world.now)).wedged) == ["stuck"]
        assert world.calls("describe") == 1

    async def test_a_kept_answer_is_asked_again_when_the_row_changes_or_it_is_old(self, world: World) -> None:
        stuck = await world.tenant("stuck")
        await world.finder.sweep(world.now)
        await world.store.save(stuck.updated(version=1, error="disk full"), [])
        await world.finder.sweep(world.now)
        world.now += world.finder.describe_ttl
        await world.finder.sweep(world.now)
        assert world.calls("describe") == 3

    async def test_describes_are_bounded_per_tick_and_reach_every_suspect_in_turn(self, world: World) -> None:
        for i in range(7):
            await world.tenant(f"t{i}")
        described = []
        for _ in range(3):
            before = [c[1] for c in world.engine.calls if c[0] == "describe"]
            await world.finder.sweep(world.now)
            described.append(len([c for c in world.engine.calls if c[0] == "describe"]) - len(before))
        assert described == [3, 3, 1]

    async def test_an_error_only_the_engine_sees_is_found_once_the_row_stops_progressing(self, world: World) -> None:
        failing = await world.tenant("failing", stuck=False)
        bug = RunObservation(RunStatus.RUNNING, workflow_task_attempt=4, last_failure="RuntimeError: bug")
        world.engine.set(failing.handle, bug)
        assert (await world.finder.sweep(world.now)).wedged == {}  # steps still completing: not described
        world.now += Limits().stuck_after
        assert world.finder and (await world.finder.sweep(world.now)).wedged["failing"].situation is (
            Situation.WEDGED_ERROR
        )
