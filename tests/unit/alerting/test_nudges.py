"""Which Reset is still waiting for its follow-up (Retry or Decommission) and its one nudge, from the feed."""

from __future__ import annotations

import pytest

from core import events as ev
from core.alerting.nudges import ResetNudge, unfollowed_reset
from core.domain import Action, AuditEvent
from tests.fakes import at


def e(kind: str, minute: int, actor: str = "U4") -> AuditEvent:
    return AuditEvent("acme", kind, actor, at(minute))


RESET = ev.completed(Action.RESET)
FEEDS = [  # newest first, as the store reads a tenant's feed
    ("a Reset alone", [e(ev.ALERT_RESOLVED, 6), e(RESET, 5), e(ev.started(Action.RESET), 5)],
     ResetNudge("acme", "U4", at(5))),
    ("a Reset then a Retry", [e(ev.started(Action.RETRY), 7), e(RESET, 5)], None),
    ("a Reset then a Decommission", [e(ev.started(Action.DECOMMISSION), 7), e(RESET, 5)], None),
    ("a Reset already nudged", [e(ev.RESET_NUDGED, 40, "scheduler"), e(RESET, 5)], None),
    ("a second Reset after a nudged one", [e(RESET, 50, "U9"), e(ev.RESET_NUDGED, 40), e(RESET, 5)],
     ResetNudge("acme", "U9", at(50))),
    ("a Reset that failed", [e(ev.failed(Action.RESET), 5)], None),
    ("no Reset at all", [e(ev.STEP_COMPLETED, 5)], None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "feed", "expected"), FEEDS, ids=[f[0] for f in FEEDS])
def test_the_reset_to_nudge_is_the_last_one_nothing_followed(
    name: str, feed: list, expected: ResetNudge | None
) -> None:
    assert unfollowed_reset(feed) == expected
