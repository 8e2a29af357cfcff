"""Log lines: JSON with the request and tenant they belong to, and no secret in them (LOG_FORMAT, redaction)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from core.redaction import Redactor
from core.request_ids import current_request_id, request_scope, tenant_scope
from tenantbot.log_records import context_filters, formatter
from tenantbot.settings import SettingsError, load_settings


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(formatter("json"))
    for record_filter in context_filters():
        handler.addFilter(record_filter)
    logger = logging.getLogger("tests.log_records")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, lines
    finally:
        logger.removeHandler(handler)


def lines_of(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_message_and_the_request_and_tenant_it_belongs_to(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logged
    logger.info("outside")
    with request_scope() as request_id, tenant_scope("acme-42"):
        logger.warning("reset of %s: %s", "acme-42", "done")
    outside, inside = lines_of(stream)
    assert set(outside) == {"time", "level", "logger", "message"}
    assert inside["message"] == "reset of acme-42: done" and inside["level"] == "WARNING"
    assert inside["logger"] == "tests.log_records" and str(inside["time"]).endswith("+00:00")
    assert inside["request_id"] == request_id and inside["tenant_id"] == "acme-42"
    assert current_request_id() is None


def test_tokens_url_passwords_and_registered_secrets_are_masked_in_messages_and_tracebacks(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    from core.redaction import redact

    logger, stream = logged
    redact.register("sign-secret-123")
    try:
        logger.error("token %s, url %s", "xoxb-1-2-abcdef", "postgresql://app:pa55word@db:5432/x")
        try:
            raise RuntimeError("auth failed for xapp-1-A1-zzz with sign-secret-123")
        except RuntimeError:
            logger.exception("failed")
    finally:
        redact.forget()
    text = stream.getvalue()
    for secret in ("abcdef", "pa55word", "A1-zzz", "sign-secret-123"):
        assert secret not in text
    first, second = lines_of(stream)
    assert first["message"] == "token xoxb-***, url postgresql://app:***@db:5432/x"
    assert "RuntimeError: auth failed for xapp-*** with ***" in str(second["exception"])


def test_a_password_given_percent_encoded_is_masked_both_ways() -> None:
    redactor = Redactor()
    redactor.register_url("postgresql://app:p%40ss%3Aword@db/x")
    assert redactor("bad password p@ss:word, or p%40ss%3Aword") == "bad password ***, or ***"


def test_text_stays_the_default_format_and_log_format_is_validated() -> None:
    assert load_settings().log_format == "text"
    assert load_settings(log_format="JSON").log_format == "JSON"
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        load_settings(log_format="xml")


def test_a_secret_quoted_in_an_error_is_masked_in_the_text_of_a_slack_message() -> None:
    from bot.text import code, safe
    from core.redaction import redact

    redact.register("tk-VerySecretApiKey")
    try:
        shown = safe("reset failed: terminate: unauthenticated (tk-VerySecretApiKey), xoxb-1-2-abc", 300)
        quoted = code("connect postgresql://app:pw0rd@db/x")
    finally:
        redact.forget()
    assert shown == "reset failed: terminate: unauthenticated (***), xoxb-***"
    assert "pw0rd" not in quoted and "app:***@db" in quoted
