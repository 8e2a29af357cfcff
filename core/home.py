"""What one person sees on the bot's Home tab: the read-only switch, the wedged tenants by cause, the
alerts they took, their last actions, and when the scan last finished a tick.

A read model: `HomeReader.home(viewer)` gathers each part at once, each within its bound (READ_TIMEOUT
for a database read, a few of them for the wedged list, as `/tenant stuck`), and a part that could not
be read is `Unread` with the reason, so a database that is down gives a short Home saying what could not
be read instead of no Home at all. The bot renders it (bot/blocks/home.py) and publishes it.

The alerts a person took are read through `HomeStore` as plain `ClaimedAlert`s: this module, on the
tenant side, knows nothing of core/alerting. The scan records its finished ticks through the same port
(`record_tick`), since the scan lease's row is deleted at the end of every tick and so cannot say when
the last one ran.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from core.bounded import bounded
from core.causes import Group, cause_of, group
from core.domain import AuditEvent
from core.freeze import Freeze, Switch
from core.ports import EngineError, StoreError
from core.wedged import WedgeFinder

T = TypeVar("T")
log = logging.getLogger(__name__)
LAST_ACTIONS = 5  # the viewer's own audit events shown, newest first
CLAIMED = 10  # open alerts the viewer took, oldest claim first
WEDGED_READS = 3  # the wedged list is bounded as `/tenant stuck` bounds it: a few reads' worth
WEDGED_FRESH = timedelta(seconds=15)  # a wedged list this recent is shown again: a burst of openings, one sweep
LATE_AFTER = 3  # scan intervals without a finished tick before the Home says the scan is late


@dataclass(frozen=True)
class ClaimedAlert:
    """An open alert someone took ("Take it"), as the Home shows it."""

    alert_id: int
    tenant_id: str
    reason: str
    taken_at: datetime | None


@dataclass(frozen=True)
class ScanTick:
    """The last scan tick that finished: when, and how many tenants it found wedged."""

    at: datetime
    wedged: int


@dataclass(frozen=True)
class Unread:
    """A part of the Home that could not be read, and why (already says which part did not answer)."""

    why: str


class HomeStore(Protocol):
    """The Home's reads in the database (core/persistence/home_store.py), and the scan's record of its ticks."""

    async def claimed_by(self, user: str, limit: int) -> list[ClaimedAlert]:
        """Open alerts `user` took, oldest claim first."""
        ...

    async def actions_by(self, actor: str, limit: int) -> list[AuditEvent]:
        """The newest audit events `actor` caused, on any tenant, newest first."""
        ...

    async def last_tick(self) -> ScanTick | None: ...

    async def record_tick(self, holder: str, at: datetime, wedged: int) -> None:
        """The scan finished a tick at `at` (one row, overwritten: one small write per tick)."""
        ...


@dataclass(frozen=True)
class Home:
    viewer: str
    now: datetime
    frozen: Freeze | Unread | None
    wedged: list[Group] | Unread
    claimed: list[ClaimedAlert] | Unread
    actions: list[AuditEvent] | Unread
    last_scan: ScanTick | Unread | None
    scan_every: timedelta | None = None  # the scan's interval, when this process scans

    @property
    def scan_late(self) -> bool:
        """The last tick is older than a few intervals: quiet alerts may mean a stopped scan, not a calm one."""
        tick, every = self.last_scan, self.scan_every
        return isinstance(tick, ScanTick) and every is not None and self.now - tick.at > LATE_AFTER * every

    @property
    def unreadable(self) -> bool:
        """Nothing could be read (the database is down): the Home is only the reasons."""
        parts = (self.frozen, self.wedged, self.claimed, self.actions, self.last_scan)
        return all(isinstance(p, Unread) for p in parts)


class HomeReader:
    def __init__(
        self,
        store: HomeStore,
        switch: Switch,
        finder: WedgeFinder,
        *,
        read_timeout: timedelta,
        clock: Callable[[], datetime],
        scan_every: timedelta | None = None,
    ) -> None:
        self.store, self.switch, self.finder = store, switch, finder
        self.read_timeout, self.clock, self.scan_every = read_timeout, clock, scan_every
        self._kept: tuple[datetime, list[Group]] | None = None  # the last wedged list read, and when

    async def home(self, viewer: str) -> Home:
        """Every part read at once; each one that fails or does not answer in time is `Unread`."""
        now = self.clock()
        frozen, wedged, claimed, actions, last_scan = await asyncio.gather(
            _part(self.switch.state(), "read-only switch"),  # bounded by the switch's own store
            _part(self._wedged(now), "wedged tenants"),
            _part(self._read(self.store.claimed_by(viewer, CLAIMED)), "alerts you took"),
            _part(self._read(self.store.actions_by(viewer, LAST_ACTIONS)), "your last actions"),
            _part(self._read(self.store.last_tick()), "last scan"),
        )
        return Home(viewer, now, frozen, wedged, claimed, actions, last_scan, self.scan_every)

    async def _read(self, call: Awaitable[T]) -> T:
        return await bounded(call, "database", StoreError, self.read_timeout)

    async def _wedged(self, now: datetime) -> list[Group]:
        """Grouped by cause; read again only when the last list is older than WEDGED_FRESH (the Home is
        opened at every click into the app, and a sweep asks the engine)."""
        if self._kept is not None and timedelta(0) <= now - self._kept[0] < WEDGED_FRESH:
            return self._kept[1]
        limit = WEDGED_READS * self.read_timeout.total_seconds()
        try:
            sweep = await asyncio.wait_for(self.finder.sweep(now), limit)
        except TimeoutError:
            raise StoreError(f"the database or the workflow engine did not answer within {limit:g} s") from None
        groups = group({tenant_id: cause_of(a) for tenant_id, a in sweep.wedged.items()})
        self._kept = (now, groups)
        return groups


async def _part(call: Awaitable[T], what: str) -> T | Unread:
    try:
        return await call
    except (StoreError, EngineError) as e:
        log.warning("App Home: could not read %s: %s", what, e)
        return Unread(str(e))
