"""Input validation at the edges: durations, settings from the environment, tenant ids."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.domain import InvalidTenantId, parse_tenant_id
from core.durations import format_duration, parse_duration
from tenantbot.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("text", "seconds"), [("600", 600), ("90s", 90), ("10m", 600), ("1h", 3600), ("2d", 172800), (" 1.5m ", 90)]
)
def test_durations_accept_seconds_or_one_unit(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "-5", "0", "5m3s"])
def test_durations_reject_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "shown"), [(45, "45 s"), (119, "119 s"), (17 * 60, "17 min"), (3 * 3600 + 300, "3 h 5 min")]
)
def test_durations_print_the_way_operators_read_them(seconds: int, shown: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == shown


def test_settings_read_durations_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUCK_AFTER", "90s")
    assert load_settings().stuck_after == timedelta(seconds=90)


def test_a_bad_setting_names_the_variable_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUCK_AFTER", "soon")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert (
        str(error.value) == "invalid setting STUCK_AFTER: expected seconds or a duration like 90s, 10m, 1h (got 'soon')"
    )


def test_the_default_database_is_a_sqlite_file_in_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", "/tmp/tb")
    assert load_settings().db_url == "sqlite:////tmp/tb/tenantbot.db"


@pytest.mark.parametrize(("raw", "tenant_id"), [("acme-42", "acme-42"), ("  ACME-42 ", "acme-42"), ("a", "a")])
def test_tenant_ids_are_normalised(raw: str, tenant_id: str) -> None:
    assert parse_tenant_id(raw) == tenant_id


@pytest.mark.parametrize("raw", ["", "-acme", "acme-", "acme_42", "acme 42", "a" * 64, "<@U123>", "acme;drop"])
def test_malformed_tenant_ids_are_refused_with_an_example(raw: str) -> None:
    with pytest.raises(InvalidTenantId, match=r"e\.g\. acme-42"):
        parse_tenant_id(raw)
