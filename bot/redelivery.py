"""Redeliveries: a request Slack sends again (`X-Slack-Retry-Num`) after this process received it.

Slack documents retries for the Events API (up to 3, when a delivery is not acknowledged within 3 s);
commands and button presses are not documented as retried, but a proxy or Socket Mode reconnect can
repeat them, so every kind is handled alike: a redelivery of a request whose first delivery was
received and answered 200 is acked and dropped. A first delivery that failed (no 200) is forgotten, so
its redelivery is handled as new; one that never arrived is handled when the redelivery comes.
The memory is per process; the service's request keys keep an action from running twice across
replicas as well.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from typing import Any

KEEP_SECONDS = 3600.0
KEEP_AT_MOST = 10_000


def delivery_key(body: Any) -> str | None:
    """The same for a request and its redeliveries: the event id, else a digest of the whole body."""
    if not isinstance(body, dict) or not body:
        return None
    if isinstance(body.get("event_id"), str):
        return f"event:{body['event_id']}"
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class Deliveries:
    def __init__(self, keep: float = KEEP_SECONDS, at_most: int = KEEP_AT_MOST) -> None:
        self.keep, self.at_most = keep, at_most
        self._received: OrderedDict[str, float] = OrderedDict()

    def received(self, key: str) -> bool:
        self._expire()
        return key in self._received

    def add(self, key: str) -> None:
        self._received[key] = time.monotonic()
        self._received.move_to_end(key)
        while len(self._received) > self.at_most:
            self._received.popitem(last=False)

    def forget(self, key: str) -> None:
        self._received.pop(key, None)

    def _expire(self) -> None:
        horizon = time.monotonic() - self.keep
        while self._received and next(iter(self._received.values())) < horizon:
            self._received.popitem(last=False)
