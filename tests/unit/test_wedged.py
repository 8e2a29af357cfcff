"""Finding wedged tenants: what the finder asks the engine each sweep, and what it concludes
(the world: tests/unit/scan_world.py; its clock starts at 12:30 and the finder's first sweep reconciles)."""

from __future__ import annotations

from collections import Counter

import pytest

from core import events as ev
from core.decisions import Limits, Situation
from core.domain import Action, AuditEvent, RunObservation, RunStatus, TenantState, provisioning_handle
from core.ports import EngineError
from core.run_census import BATCH
from tests.fakes import at
from tests.unit.scan_world import World

SECOND_LOOK = 1  # minutes between sweeps, as SCAN_INTERVAL


class TestWhatIsFound:
    async def test_only_suspicious_runs_are_described(self, world: World) -> None:
        await world.tenant("busy", stuck=False)
        await world.tenant("stuck")
        sweep, calls = await world.sweep()
        assert list(sweep.wedged) == ["stuck"]
        assert (calls["describe"], calls["count_running"]) == (1, 1)

    async def test_runs_that_do_not_run_are_told_apart_by_one_listing_after_a_short_count(self, world: World) -> None:
        for i in range(40):
            await world.tenant(f"gone{i}", known=False)
        for i in range(10):
            closed = await world.tenant(f"closed{i}")
            world.engine.set(closed.handle, RunObservation(RunStatus.TERMINATED))
        sweep, calls = await world.sweep()
        situations = {tenant_id: a.situation for tenant_id, a in sweep.wedged.items()}
        assert [situations[f"gone{i}"] for i in range(40)] == [Situation.WEDGED_ORPHANED] * 40
        assert [situations[f"closed{i}"] for i in range(10)] == [Situation.WEDGED_ENGINE_CLOSED] * 10
        assert "terminated" in sweep.wedged["closed0"].reason
        assert calls == Counter(count_running=1, run_statuses=1)

    async def test_a_freshly_started_run_the_engine_does_not_list_yet_is_not_flagged(self, world: World) -> None:
        await world.tenant("fresh", stuck=False, known=False)
        world.finder.describes.budget, world.now = 0, at(29, 10)
        assert (await world.finder.sweep(world.now)).wedged == {}

    async def test_a_cancel_whose_run_closed_is_found_like_any_in_flight_state(self, world: World) -> None:
        cancelling = await world.tenant("cancelling", state=TenantState.CANCELLING)
        world.engine.set(cancelling.handle, RunObservation(RunStatus.TERMINATED))
        sweep, _ = await world.sweep()
        assert sweep.wedged["cancelling"].situation is Situation.WEDGED_ENGINE_CLOSED

    async def test_an_error_only_the_engine_sees_is_found_once_the_row_stops_progressing(self, world: World) -> None:
        failing = await world.tenant("failing", stuck=False)
        bug = RunObservation(RunStatus.RUNNING, workflow_task_attempt=4, last_failure="RuntimeError: bug")
        world.engine.set(failing.handle, bug)
        assert (await world.finder.sweep(world.now)).wedged == {}  # steps still completing: not described
        world.now += Limits().stuck_after
        assert (await world.finder.sweep(world.now)).wedged["failing"].situation is Situation.WEDGED_ERROR


class TestDescribes:
    async def test_a_stable_wedge_is_described_once_not_every_sweep(self, world: World) -> None:
        await world.tenant("stuck")
        for _ in range(3):
            sweep, _ = await world.sweep(SECOND_LOOK)
            assert list(sweep.wedged) == ["stuck"]
        assert world.calls("describe") == 1

    async def test_a_kept_answer_is_asked_again_when_the_row_changes_or_it_is_old(self, world: World) -> None:
        stuck = await world.tenant("stuck")
        await world.finder.sweep(world.now)
        await world.store.save(stuck.updated(version=1, error="disk full"), [])
        await world.finder.sweep(world.now)
        world.now += world.finder.describes.ttl
        await world.finder.sweep(world.now)
        assert world.calls("describe") == 3

    async def test_describes_are_bounded_per_sweep_and_reach_every_suspect_in_turn(self, world: World) -> None:
        for i in range(7):
            await world.tenant(f"t{i}")
        described = [(await world.sweep())[1]["describe"] for _ in range(3)]
        assert described == [3, 3, 1]


class TestEngineCost:
    """After the first sweep (a reconcile), a sweep asks for the runs closed since the last one, and about
    the suspects: one count per 1,000 of them. Healthy runs in flight cost nothing until the next reconcile."""

    @pytest.mark.parametrize(("healthy", "stuck"), [(100, 10), (2_000, 10), (2_000, 1_200)])
    async def test_a_sweeps_engine_calls_grow_with_suspects_not_with_runs_in_flight(
        self, world: World, healthy: int, stuck: int
    ) -> None:
        world.finder.describes.budget = 0
        for i in range(healthy):
            await world.tenant(f"busy{i}", stuck=False)
        for i in range(stuck):
            await world.tenant(f"stuck{i}")
        _, first = await world.sweep()
        _, second = await world.sweep(SECOND_LOOK)
        assert first == Counter(count_running=-(-(healthy + stuck) // BATCH))  # the first sweep reconciles
        assert second == Counter(closed_since=1, count_running=-(-stuck // BATCH))

    async def test_full_rows_are_read_only_for_suspects_and_runs_that_ended(self, world: World) -> None:
        for i in range(50):
            await world.tenant(f"busy{i}", stuck=False)
        await world.tenant("stuck")
        await world.sweep()
        world.engine.set(world.store.tenants["busy7"].handle, RunObservation(RunStatus.FAILED))
        read: list[set[str]] = []
        in_flight = world.store.in_flight

        async def spied(ids=None):  # type: ignore[no-untyped-def]
            read.append(set(ids))
            return await in_flight(ids)

        world.store.in_flight = spied  # type: ignore[method-assign]
        sweep, _ = await world.sweep(SECOND_LOOK)
        assert read == [{"stuck", "busy7"}] and sweep.in_flight == 51

    async def test_a_run_closed_behind_the_bots_back_is_found_at_the_next_sweep_and_not_asked_about_again(
        self, world: World
    ) -> None:
        healthy = await world.tenant("healthy", stuck=False)
        assert (await world.sweep())[0].wedged == {}
        world.engine.set(healthy.handle, RunObservation(RunStatus.TERMINATED))  # e.g. in the Temporal UI
        found, calls = await world.sweep(SECOND_LOOK)
        assert found.wedged["healthy"].situation is Situation.WEDGED_ENGINE_CLOSED
        assert calls == Counter(closed_since=1)
        later, calls = await world.sweep(SECOND_LOOK)  # the closure is now older than the window asked
        assert later.wedged["healthy"].situation is Situation.WEDGED_ENGINE_CLOSED
        assert calls == Counter(closed_since=1)

    async def test_an_orphaned_handle_on_a_healthy_row_is_found_at_the_reconcile(self, world: World) -> None:
        healthy = await world.tenant("healthy", stuck=False)
        await world.sweep()
        assert healthy.handle is not None
        del world.engine.runs[healthy.handle.workflow_id]  # a cluster reset: the run never shows as closed
        between, _ = await world.sweep(SECOND_LOOK)
        assert between.wedged == {} and not between.reconciled
        minutes = world.finder.census.reconcile_every.total_seconds() / 60 - SECOND_LOOK
        at_reconcile, calls = await world.sweep(minutes)
        assert at_reconcile.reconciled and calls == Counter(closed_since=1, count_running=1, run_statuses=1)
        assert at_reconcile.wedged["healthy"].situation is Situation.WEDGED_ORPHANED
        after, calls = await world.sweep(SECOND_LOOK)
        assert after.wedged["healthy"].situation is Situation.WEDGED_ORPHANED and calls == Counter(closed_since=1)
        again, calls = await world.sweep(minutes)  # the next reconcile: a count short by the known gone suffices
        assert again.wedged["healthy"].situation is Situation.WEDGED_ORPHANED
        assert calls == Counter(closed_since=1, count_running=1)

    async def test_a_run_closed_since_the_last_sweep_costs_no_listing_at_the_reconcile(self, world: World) -> None:
        closing = await world.tenant("closing", stuck=False)
        await world.tenant("healthy", stuck=False)
        await world.sweep()
        world.engine.set(closing.handle, RunObservation(RunStatus.TERMINATED))
        sweep, calls = await world.sweep(world.finder.census.reconcile_every.total_seconds() / 60)
        assert sweep.reconciled and calls == Counter(closed_since=1, count_running=1)
        assert sweep.wedged["closing"].situation is Situation.WEDGED_ENGINE_CLOSED

    async def test_an_orphaned_handle_on_a_suspect_is_found_at_the_next_sweep(self, world: World) -> None:
        stuck = await world.tenant("stuck")
        assert (await world.sweep())[0].wedged["stuck"].situation is Situation.WEDGED_NO_PROGRESS
        assert stuck.handle is not None
        del world.engine.runs[stuck.handle.workflow_id]
        sweep, _ = await world.sweep(SECOND_LOOK)
        assert sweep.wedged["stuck"].situation is Situation.WEDGED_ORPHANED

    async def test_a_reconcile_the_engine_does_not_answer_is_tried_again_at_the_next_sweep(self, world: World) -> None:
        await world.tenant("healthy", stuck=False)
        world.engine.fail_with, world.engine.failing = EngineError("visibility unavailable"), {"count_running"}
        with pytest.raises(EngineError, match="visibility unavailable"):
            await world.sweep()
        world.engine.fail_with = None
        sweep, calls = await world.sweep(SECOND_LOOK)
        assert sweep.reconciled and calls == Counter(count_running=1)

    async def test_a_run_known_gone_is_not_taken_for_the_next_attempts_run_at_the_reconcile(self, world: World) -> None:
        gone = await world.tenant("gone", known=False)
        assert (await world.sweep())[0].wedged["gone"].situation is Situation.WEDGED_ORPHANED
        second = provisioning_handle("gone", 2)
        await world.store.save(gone.updated(handle=second, attempt=2, version=1), [])  # Reset, then Retry
        world.engine.set(second, RunObservation(RunStatus.FAILED))
        world.engine.closed_at[second.workflow_id] = at(0)  # before the window of the runs closed since
        sweep, calls = await world.sweep(world.finder.census.reconcile_every.total_seconds() / 60)
        assert sweep.reconciled and calls == Counter(closed_since=1, count_running=1, run_statuses=1)
        assert sweep.wedged["gone"].situation is Situation.WEDGED_ENGINE_CLOSED


class TestWhatIsRemembered:
    async def test_a_tenant_wedged_again_after_reset_and_retry_is_marked_and_its_feed_read_once_per_run(
        self, world: World
    ) -> None:
        await world.tenant("again")
        await world.store.save(world.store.tenants["again"].updated(attempt=2, current_step="create_storage"), [])
        await world.tenant("first")  # attempt 1: no Reset and Retry to remember, its feed is never read
        reset_at = at(2)
        await world.store.append(
            [
                AuditEvent("again", ev.started(Action.RESET), "U4", reset_at, {"step": "create_storage"}),
                AuditEvent("again", ev.completed(Action.RESET), "U4", reset_at),
                AuditEvent("again", ev.completed(Action.RETRY), "U4", at(3)),
            ]
        )
        read: list[str] = []
        events = world.store.events

        async def counted(tenant_id: str, limit: int) -> list[AuditEvent]:
            read.append(tenant_id)
            return await events(tenant_id, limit)

        world.store.events = counted  # type: ignore[method-assign]
        for minutes in (0, SECOND_LOOK, SECOND_LOOK):
            sweep, _ = await world.sweep(minutes)
            assert sweep.wedged["again"].wedged_again and not sweep.wedged["first"].wedged_again
            assert (
                sweep.wedged["again"].advice
                == "Escalate: wedged again at `create_storage` after Reset and Retry at 12:02 UTC"
            )
        assert read == ["again"]
