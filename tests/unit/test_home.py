"""The App Home's read model (core/home.py) and its view (bot/blocks/home.py), with fakes: every part read at
once, a part that fails or hangs becomes its reason within its bound while the others are shown, nothing
readable gives the short Home, and the worst Home fits Slack's 100 blocks with its data escaped. A press
in the Home tab carries no response_url, and only there is that accepted (bot/shapes.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from slack_sdk.models.views import View

from bot import shapes
from bot.blocks.home import MAX_BUTTONS, MAX_GROUPS, OPEN_TENANT, home_view
from core import events as ev
from core.causes import Cause, Group
from core.decisions import Limits, Situation
from core.domain import Action, AuditEvent
from core.freeze import Freeze, Switch
from core.home import ClaimedAlert, Home, HomeReader, HomeStore, ScanTick, Unread
from core.ports import StoreError
from core.wedged import Sweep, WedgeFinder
from tests.e2e.situations import make
from tests.fakes import FakeEngine, InMemoryFreezes, InMemoryStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SPOOF = "<!channel> see <https://evil.example|x>"


class FakeHomeStore(HomeStore):
    def __init__(self) -> None:
        self.claims: list[ClaimedAlert] = []
        self.events: list[AuditEvent] = []
        self.tick: ScanTick | None = None
        self.down, self.delay = False, 0.0

    async def _io(self) -> None:
        await asyncio.sleep(self.delay)
        if self.down:
            raise StoreError("database unavailable (fake)")

    async def claimed_by(self, user: str, limit: int) -> list[ClaimedAlert]:
        await self._io()
        return self.claims[:limit]

    async def actions_by(self, actor: str, limit: int) -> list[AuditEvent]:
        await self._io()
        return [e for e in self.events if e.actor == actor][:limit]

    async def last_tick(self) -> ScanTick | None:
        await self._io()
        return self.tick

    async def record_tick(self, holder: str, at: datetime, wedged: int) -> None:
        self.tick = ScanTick(at, wedged)


class Parts:
    def __init__(self) -> None:
        self.store, self.engine, self.freezes, self.home = (
            InMemoryStore(),
            FakeEngine(),
            InMemoryFreezes(),
            FakeHomeStore(),
        )
        finder = WedgeFinder(self.store, self.engine, Limits(stuck_after=timedelta(minutes=10)))
        switch = Switch(self.freezes, clock=lambda: NOW)
        self.later = timedelta(0)  # the tenants `make` builds are wedged as of now; tests move the clock on
        self.sweeps = 0
        sweep = finder.sweep

        async def counted(now: datetime) -> Sweep:
            self.sweeps += 1
            return await sweep(now)

        finder.sweep = counted  # type: ignore[method-assign]
        self.reader = HomeReader(self.home, switch, finder, read_timeout=timedelta(seconds=0.2), clock=self.clock)

    def clock(self) -> datetime:
        return datetime.now(UTC) + self.later


async def test_every_part_of_the_home_is_read() -> None:
    parts = Parts()
    for i in range(2):
        await make(parts.store, parts.engine, f"orphan-{i}", Situation.WEDGED_ORPHANED, current_step="create_storage")
    await parts.freezes.freeze(Freeze("U9", NOW, "failover"))
    parts.home.claims = [ClaimedAlert(1, "orphan-0", "orphaned", NOW)]
    parts.home.events = [AuditEvent("orphan-0", ev.ALERT_CLAIMED, "U1", NOW), AuditEvent("x", "y", "U2", NOW)]
    parts.home.tick = ScanTick(NOW, 2)

    home = await parts.reader.home("U1")
    assert home.frozen == Freeze("U9", NOW, "failover")
    assert home.wedged == [Group(Cause(Situation.WEDGED_ORPHANED, "create_storage"), ("orphan-0", "orphan-1"))]
    assert home.claimed == parts.home.claims and home.last_scan == ScanTick(NOW, 2)
    assert isinstance(home.actions, list) and [e.actor for e in home.actions] == ["U1"]
    assert not home.unreadable


async def test_a_hung_database_leaves_its_parts_unread_within_the_bound_and_shows_the_rest() -> None:
    parts = Parts()
    parts.home.delay = 5
    started = time.monotonic()
    home = await parts.reader.home("U1")
    assert time.monotonic() - started < 1
    for part in (home.claimed, home.actions, home.last_scan):
        assert part == Unread("database: no answer within 0.2 s")
    assert home.frozen is None and home.wedged == [] and not home.unreadable


async def test_a_hung_engine_leaves_the_wedged_list_unread_within_a_few_reads() -> None:
    parts = Parts()
    await make(parts.store, parts.engine, "hung-1", Situation.WEDGED_NO_PROGRESS)
    parts.engine.delay = 30
    started = time.monotonic()
    home = await parts.reader.home("U1")
    assert time.monotonic() - started < 1.5
    assert isinstance(home.wedged, Unread) and "engine" in home.wedged.why


async def test_nothing_readable_gives_the_short_home() -> None:
    parts = Parts()
    parts.store.down = parts.freezes.down = parts.home.down = True
    home = await parts.reader.home("U1")
    assert home.unreadable
    view = home_view(home).to_dict()
    assert len(view["blocks"]) == 2 and "Could not read tenantbot's state" in view["blocks"][1]["text"]["text"]


async def test_a_burst_of_openings_reads_the_wedged_list_once() -> None:
    parts = Parts()
    await make(parts.store, parts.engine, "hung-1", Situation.WEDGED_NO_PROGRESS)
    homes = [await parts.reader.home(user) for user in ("U1", "U2", "U3")]
    assert parts.sweeps == 1 and homes[0].wedged == homes[2].wedged != []
    parts.later = timedelta(seconds=20)  # older than WEDGED_FRESH: read again
    await parts.reader.home("U1")
    assert parts.sweeps == 2


def test_a_scan_without_a_tick_for_three_intervals_is_said_to_be_late() -> None:
    every = timedelta(seconds=60)

    def home(ago: timedelta, scan_every: timedelta | None = every) -> Home:
        return Home("U1", NOW, None, [], [], [], ScanTick(NOW - ago, 0), scan_every)

    late = home(timedelta(minutes=4))
    assert late.scan_late and "*The scan is late* (it runs every 60 s)" in str(home_view(late).to_dict())
    assert not home(timedelta(minutes=2)).scan_late
    assert not home(timedelta(hours=2), scan_every=None).scan_late  # this process does not scan: no claim about it


def worst_home() -> Home:
    """Many causes of many tenants, the longest ids, and markup in every piece of data."""
    groups = [
        Group(Cause(Situation.WEDGED_ERROR, f"step-{g}", SPOOF * 10), tuple(f"t{g}-{'x' * 55}-{i}" for i in range(30)))
        for g in range(30)
    ]
    claims = [ClaimedAlert(i, f"c-{i}", SPOOF * 50, NOW) for i in range(40)]
    events = [AuditEvent(SPOOF, ev.started(Action.RESET), "U1", NOW) for _ in range(5)]
    return Home("U1", NOW, Freeze("U9", NOW, SPOOF * 20), groups, claims, events, ScanTick(NOW, 900))


def test_the_worst_home_fits_slacks_limits_and_escapes_its_data() -> None:
    view = home_view(worst_home())
    View.validate_json(view)  # slack_sdk's own checks of a view (100 blocks, text lengths)
    shown = view.to_dict()
    assert len(shown["blocks"]) <= 100 and "<!channel>" not in str(shown) and "<https://evil" not in str(shown)
    rows = [b for b in shown["blocks"] if b["type"] == "actions"]
    assert len(rows) == MAX_GROUPS and all(len(r["elements"]) == MAX_BUTTONS for r in rows)
    assert {e["action_id"] for r in rows for e in r["elements"]} == {OPEN_TENANT}
    assert any("…and 600 more in other causes" in str(b) for b in shown["blocks"])


def test_a_part_that_could_not_be_read_says_why_in_its_place() -> None:
    home = Home("U1", NOW, None, Unread(f"engine: {SPOOF}"), [], [], None)
    shown = str(home_view(home).to_dict())
    assert "Could not read the wedged tenants: engine: &lt;!channel&gt;" in shown
    assert "*Not frozen*" in shown


def press(**fields: object) -> dict[str, object]:
    return {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": OPEN_TENANT}], **fields}


def test_a_press_needs_a_response_url_except_in_the_home_tab() -> None:
    home = {"id": "V1", "type": "home"}
    assert shapes.shape(press(container={"type": "view"}, view=home)) is None
    assert shapes.shape(press()) == "a button press needs a response_url"
    assert shapes.shape(press(view={"id": "V2", "type": "modal"})) == "a button press needs a response_url"
