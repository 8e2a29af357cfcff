"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.persistence import open_store
from tests.unit.scan_world import World


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """A scanner's world with its alerts in a fresh SQLite file."""
    alerts = await open_store(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield World(alerts)
    await alerts.close()
