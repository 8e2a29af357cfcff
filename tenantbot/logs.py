"""Logging of the entry points: LOG_FORMAT (text or JSON lines, with request ids and no secrets:
tenantbot/log_records.py), and the Temporal SDK's expected activity endings in one line.

The SDK logs every activity attempt that ends with an exception at WARNING with its full traceback
("Completing activity as failed"). Most are expected: an attempt the engine timed out, or whose run
was cancelled, reset or terminated, ends with a CancelledError; a step that fails on purpose raises an
ApplicationError whose message says all there is (the demo's hung attempt giving up, a jammed
release); a step whose write fails because the database is down ends with a StoreError that names
it. A few wedged tenants then give a traceback every few seconds (three chained ones each while the
database is down), burying the errors that need one. `ActivityEndings` turns those into one line (a
cancelled attempt at INFO, a failed step and an unavailable database still at WARNING) and leaves
every other exception's traceback alone.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from temporalio.exceptions import ApplicationError, CancelledError

from core.ports import StoreError
from tenantbot.log_records import context_filters, formatter

SDK_ACTIVITY_LOGGERS = ("temporalio.activity", "temporalio.worker._activity")
CANCELLED = "cancelled (timed out by the engine, or its run was cancelled, reset or ended)"


def configure_logging(level: str, log_format: str = "text") -> None:
    """One handler on stderr in `log_format`, every record carrying its request and tenant and redacted
    (a process whose root logger already has handlers, e.g. under a test runner, keeps them)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    for record_filter in context_filters():
        handler.addFilter(record_filter)
    logging.basicConfig(level=level.upper(), handlers=[handler])
    shorten_expected_activity_endings()


def shorten_expected_activity_endings() -> None:
    for name in SDK_ACTIVITY_LOGGERS:
        logging.getLogger(name).addFilter(ACTIVITY_ENDINGS)  # once: the same filter is not added twice


class ActivityEndings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, asyncio.CancelledError | CancelledError):
            outcome, level = (
                "cancelled (timed out by the engine, or its run was cancelled, reset or ended)",
                logging.INFO,
            )
        elif isinstance(error, ApplicationError):
            outcome, level = f"failed: {error}", record.levelno
        elif isinstance(error, StoreError):
            outcome, level = f"failed: the database is unavailable ({error})", record.levelno
        else:
            return True
        record.msg, record.args = f"{_attempt(record)} {outcome}", ()
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = level, logging.getLevelName(level)
        return logging.getLogger(record.name).isEnabledFor(level)


def _attempt(record: logging.LogRecord) -> str:
    info = getattr(record, "temporal_activity", None)
    if not isinstance(info, dict):
        return "activity attempt"
    return f"activity {info.get('activity_type')} attempt {info.get('attempt')} of {info.get('workflow_id')}"


ACTIVITY_ENDINGS = ActivityEndings()
