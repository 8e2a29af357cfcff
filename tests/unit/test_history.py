"""Page positions as a Slack button carries them: exact both ways, and nothing else accepted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.domain import FeedPosition
from core.history import InvalidCursor, cursor, parse_cursor


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 11, 30, 12, 3, 7, 123456, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_a_position_survives_the_round_trip_to_the_microsecond(at: datetime) -> None:
    position = FeedPosition(at, 123_456_789_012)
    assert parse_cursor(cursor(position)) == position


@pytest.mark.parametrize(
    "text",
    ["", "1733000000", "1733000000.", ".5", "-1.5", "1.5.6", "1e9.5", " 1.5", "1.5\n", "١٢.٣", "9" * 18 + ".1"],
)
def test_anything_the_bot_did_not_write_is_refused(text: str) -> None:
    with pytest.raises(InvalidCursor):
        parse_cursor(text)
