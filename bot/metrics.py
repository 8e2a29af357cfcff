"""tenantbot's Prometheus metrics: one `Metrics` per app, each with its own CollectorRegistry.

They are observed at the edges, never inside `core/`: a Slack request and its ack where the app
dispatches it (bot/app.py, HTTP and Socket Mode alike), a press's outcome where the listener gets the
core's `ActionResult` back (bot/listeners/actions.py), alert messages in the notifier that sends them
(bot/notifier.py), Slack's errors and 429s in the one Web API client (bot/slack_client.py), and scan
ticks, engine and database errors where the composition root calls or wraps the core (tenantbot/).
Every outcome already crosses one of those edges as a value (a result, a report, an exception), so the
core needs no metrics port and stays free of Prometheus; a second app in one process (tests, a bench)
gets its own registry instead of colliding in the global one.

Labels are small fixed sets (request kinds, actions, outcomes, situations, Web API methods, port
operations): never a tenant, user or channel id, which would make one series per tenant.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.batches import Batch, Member
from core.decisions import Situation
from core.results import ActionResult

CONTENT_TYPE = CONTENT_TYPE_LATEST
REQUEST_KINDS = ("command", "block_actions", "block_suggestion", "view_submission", "event", "other")
# and, counted before a body is read: "unsigned" (401) and "malformed" (400), over HTTP only
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)  # Slack wants an ack within 3 s
TICK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def request_kind(body: Mapping[str, object]) -> str:
    """One of REQUEST_KINDS, from the fields Slack puts in every request."""
    if body.get("command"):
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    return kind if isinstance(kind, str) and kind in REQUEST_KINDS else "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tenantbot_slack_requests",
            "Slack requests (commands, presses, events) by kind and outcome",
            ("kind", "outcome"),
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "tenantbot_slack_ack_seconds",
            "Time from a Slack request's arrival to its ack",
            ("kind",),
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.actions = Counter(
            "tenantbot_actions",
            "Operator actions pressed in Slack by action and outcome",
            ("action", "outcome"),
            registry=registry,
        )
        self.alerts = Counter(
            "tenantbot_alert_messages",
            "Alert messages by what happened to them (posted, edited, resolved)",
            ("event",),
            registry=registry,
        )
        self.slack_errors = Counter(
            "tenantbot_slack_api_errors", "Slack Web API calls that failed, by method", ("method",), registry=registry
        )
        self.slack_rate_limited = Counter(
            "tenantbot_slack_rate_limited",
            "Slack Web API calls answered (or held back) with 429, by method",
            ("method",),
            registry=registry,
        )
        self.scan_seconds = Histogram(
            "tenantbot_scan_tick_seconds", "Duration of one wedge scan tick", buckets=TICK_BUCKETS, registry=registry
        )
        self.scan_failures = Counter(
            "tenantbot_scan_ticks_failed",
            "Scan ticks that could not run (database, engine or Slack down)",
            registry=registry,
        )
        self.wedged = Gauge(
            "tenantbot_wedged_tenants",
            "Wedged tenants by situation, as of the last scan tick",
            ("situation",),
            registry=registry,
        )
        self.engine_errors = Counter(
            "tenantbot_engine_errors",
            "Workflow engine calls that failed or timed out, by operation",
            ("operation",),
            registry=registry,
        )
        self.database_errors = Counter(
            "tenantbot_database_errors",
            "Database calls that failed or timed out, by operation",
            ("operation",),
            registry=registry,
        )
        self.batch_members = Counter(
            "tenantbot_batch_members",
            "Batch members this replica handled, by the batch's kind and the member's status",
            ("kind", "status"),
            registry=registry,
        )
        self.batches_ended = Counter(
            "tenantbot_batches_ended",
            "Batch runs of this replica that ended, by kind and status (running: cut short, it resumes later)",
            ("kind", "status"),
            registry=registry,
        )
        self.batches_running = Gauge(
            "tenantbot_batches_running", "Batches this replica is running now", registry=registry
        )
        for situation in Situation:  # every situation shows up, at 0 when none is wedged so
            if situation.wedged:
                self.wedged.labels(situation.key)

    def request(self, kind: str, outcome: str, seconds: float) -> None:
        self.requests.labels(kind, outcome).inc()
        self.ack_seconds.labels(kind).observe(seconds)

    def action(self, result: ActionResult) -> None:
        self.actions.labels(result.action.value, result.outcome.value).inc()

    def batch_started(self, batch: Batch) -> None:
        self.batches_running.inc()

    def batch_member(self, batch: Batch, member: Member) -> None:
        self.batch_members.labels(batch.kind.value, member.status.value).inc()

    def batch_ended(self, batch: Batch) -> None:
        self.batches_running.dec()
        self.batches_ended.labels(batch.kind.value, batch.status.value).inc()

    def scan_tick(self, seconds: float, wedged: Mapping[str, int] | None) -> None:
        """A tick this replica ran: its duration, and the gauge set to what it found (None: it failed)."""
        self.scan_seconds.observe(seconds)
        if wedged is None:
            self.scan_failures.inc()
            return
        for situation in Situation:
            if situation.wedged:
                self.wedged.labels(situation.key).set(wedged.get(situation.key, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
