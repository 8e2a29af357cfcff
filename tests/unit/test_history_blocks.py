"""A page of history against Slack's limits: the worst events still make one valid message, escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.blocks.history import NEWER, OLDER, history_blocks
from bot.text import BUDGET
from core.domain import AuditEvent
from core.history import PAGE, HistoryPage, parse_cursor
from tests.e2e.slack_limits import rejection
from tests.unit.test_blocks import LONG_ID, SPOOF, as_sent

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_full_page_of_the_worst_events_fits_one_message_with_both_buttons() -> None:
    events = tuple(
        AuditEvent(
            LONG_ID,
            "tenant.provisioning." + "e" * 300,
            "w" * 300,
            T0 - timedelta(seconds=i),
            {"reason": SPOOF * 100, "cause": "&" * 3000, "run": {"id": SPOOF}},
            10_000 - i,
        )
        for i in range(PAGE)
    )
    page = HistoryPage(LONG_ID, events, older=events[-1].position, newer=events[0].position)
    message = as_sent(history_blocks(page))
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert rejection(message) is None and len(shown) <= BUDGET
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown and "&&" not in shown
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    values = {e["action_id"]: e["value"] for e in actions["elements"]}
    assert parse_cursor(values[OLDER].split(":", 1)[1]) == events[-1].position
    assert parse_cursor(values[NEWER].split(":", 1)[1]) == events[0].position
    assert all(value.startswith(f"{LONG_ID}:") for value in values.values())
