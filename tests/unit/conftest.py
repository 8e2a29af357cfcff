"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.persistence import open_database
from tests.unit.scan_world import World


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """A scanner's world with its alerts in a fresh SQLite file."""
    database = await open_database(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield World(database)
    await database.close()
