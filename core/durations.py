"""Parsing and printing durations the way operators write and read them ("90s", "10m", "17 min")."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LONGEST = timedelta(days=3650)  # beyond this a duration is a typo (and near timedelta's own limit)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """Accept plain seconds or a number with one unit: `600`, `90s`, `10m`, `1h`, `2d`."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected seconds or a duration like 90s, 10m, 1h (got {value!r})")
        seconds = float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise ValueError(f"must be positive (got {value!r})")
    if seconds > LONGEST.total_seconds():
        raise ValueError(f"must be at most {LONGEST.days} days (got {value!r})")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Short human form, precise enough to compare with a threshold: `45 s`, `17 min`, `3 h 5 min`."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h" if hours % 24 else f"{hours // 24} d"
