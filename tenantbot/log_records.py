"""What every log line carries and hides: the request and tenant it belongs to, one JSON object per line
with LOG_FORMAT=json, and no secret in either format.

`RequestContext` copies the request id and tenant id of the work under way (core/request_ids.py) onto
each record, so a press can be followed from its Slack request through the core to the engine call
and its audit event (which carries the same `request_id`). `Redacting` masks tokens, URL passwords and
the configured secrets (core/redaction.py) in the message, its arguments and its traceback before any
handler formats it. Both are filters on the root handler, so every logger's records pass through them:
ours, aiohttp's, SQLAlchemy's, the Temporal SDK's.

`JsonLines` writes `time` (ISO 8601 UTC), `level`, `logger`, `message`, `request_id` and `tenant_id`
(when there is one), and `exception` with the traceback when there is one — a log shipper needs no
pattern to read them.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from core.redaction import redact
from core.request_ids import current_request_id, current_tenant_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"


class RequestContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = getattr(record, "request_id", None) or current_request_id()
        tenant_id = getattr(record, "tenant_id", None) or current_tenant_id()
        record.request_id, record.tenant_id = request_id, tenant_id
        parts = [f"request={request_id}" if request_id else "", f"tenant={tenant_id}" if tenant_id else ""]
        record.context = f" [{' '.join(p for p in parts if p)}]" if request_id or tenant_id else ""
        return True


class Redacting(logging.Filter):
    _plain = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "tenant_id"):
            value = getattr(record, name, None)
            if value:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    return JsonLines() if log_format.lower() == "json" else logging.Formatter(TEXT_FORMAT)


def context_filters() -> list[logging.Filter]:
    return [RequestContext(), Redacting()]
