"""Input validation at the edges: durations, settings from the environment, tenant ids."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.authz import AllowList
from core.domain import InvalidTenantId, parse_tenant_id
from core.durations import format_duration, parse_duration
from core.saga import Fault, FaultPlan
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


@pytest.mark.parametrize(
    ("name", "value"), [("SLACK_TEAM_ID", "acme"), ("SLACK_APP_ID", "T0123"), ("SLACK_TEAM_ID", "")]
)
def test_the_slack_ids_must_look_like_slack_ids(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(f"invalid setting {name}: String should match pattern")


def test_the_slack_ids_name_a_workspace_or_org_and_an_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_TEAM_ID", "E0ORG42")
    monkeypatch.setenv("SLACK_APP_ID", "A0APP42")
    loaded = load_settings()
    assert (loaded.slack_team_id, loaded.slack_app_id) == ("E0ORG42", "A0APP42")


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


@pytest.mark.parametrize("raw", ["a\nb", "a\rb", "\x1b[2J", "ab\u202ecd", "a\u2028b", "a\x85b"])
def test_a_malformed_id_is_quoted_on_one_line_with_its_control_characters_escaped(raw: str) -> None:
    with pytest.raises(InvalidTenantId) as refused:
        parse_tenant_id(raw)
    assert str(refused.value).startswith(repr(raw)) and str(refused.value).isprintable()


@pytest.mark.parametrize("value", ["S0ADMINS", "U123ABC,S0ADMINS", "*", "U123ABC W456DEF"])
def test_allow_lists_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DECOMMISSION_USERS", value)
    monkeypatch.setenv("RESET_USERS", value)
    loaded = load_settings()
    assert loaded.decommission_users == loaded.reset_users == AllowList.parse(value)


def test_a_bad_allow_list_names_the_variable_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_USERS", "alice")
    with pytest.raises(SettingsError, match=r"^invalid setting RETRY_USERS: not a Slack user or user-group id: alice"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("STUCK_AFTER", "99999999999999", "at most"),
        ("DATABASE_URL", "postgresql://x@127.0.0.1:abc/d", "not a database URL"),
        ("DATABASE_URL", "garbage", "not a database URL"),
        ("DATABASE_URL", "mysql://root@localhost/db", "unsupported database"),
        ("TEMPORAL_TLS", "maybe", "valid boolean"),
        ("ALERT_MENTION", "@oncall", "not a Slack user \\(U…, W…\\) or user-group \\(S…\\) id: '@oncall'"),
        ("ALERT_MENTION", "<!subteam^S123>", "not a Slack user"),
        ("ALERT_MENTION_AFTER", "0", "must be positive"),
        ("ALERT_MENTION_AFTER", "30d", "less than or equal to 7 days"),
        ("ACTIONS_CHANNEL", "Ops Channel", "should match pattern"),
        ("DB_POOL_SIZE", "1", "greater than or equal to 2"),
        ("DB_POOL_SIZE", "500", "less than or equal to 200"),
        ("DB_POOL_SIZE", "many", "valid integer"),
    ],
)
def test_settings_that_cannot_work_fail_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=rf"^invalid setting {name}: .*{says}") as error:
        load_settings()
    assert "\n" not in str(error.value)


def test_the_pool_size_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().db_pool_size == 20
    monkeypatch.setenv("DB_POOL_SIZE", "40")
    assert load_settings().db_pool_size == 40


def test_an_action_lease_shorter_than_an_engine_call_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTION_LEASE", "10s")
    monkeypatch.setenv("ENGINE_TIMEOUT", "30s")
    with pytest.raises(SettingsError, match=r"^invalid settings: ACTION_LEASE \(10 s\) must be longer"):
        load_settings()


@pytest.mark.parametrize(("text", "fault"), [("hang", Fault("hang", 2)), ("fail@5", Fault("fail", 5)), ("none", None)])
def test_faults_name_a_kind_and_optionally_a_step(text: str, fault: Fault | None) -> None:
    assert Fault.parse(text) == fault


@pytest.mark.parametrize("text", ["hang@", "hang@0", "hang@6", "hang@x", "explode", "@2"])
def test_faults_that_do_not_parse_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        Fault.parse(text)


def test_a_fault_reads_back_as_the_text_the_saga_input_carries() -> None:
    fault = Fault.parse("hang")
    assert fault is not None and str(fault) == "hang@2" and Fault.parse(str(fault)) == fault


def test_a_planned_fault_reaches_the_tenants_first_attempt_only() -> None:
    plan = FaultPlan()
    plan.inject("acme", Fault("hang", 3))
    plan.inject("beta", None)
    assert plan.for_attempt("acme", 1) == Fault("hang", 3)
    assert plan.for_attempt("acme", 2) is None  # Retry after a Reset runs clean
    assert plan.for_attempt("beta", 1) is None and plan.for_attempt("gamma", 1) is None


def test_the_admin_allow_list_is_nobody_by_default_and_read_like_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().policy.admins == AllowList()
    monkeypatch.setenv("ADMIN_USERS", "U123ABC,S0ADMINS")
    assert load_settings().policy.admins == AllowList.parse("U123ABC,S0ADMINS")
    monkeypatch.setenv("ADMIN_USERS", "@alice")
    with pytest.raises(SettingsError, match=r"^invalid setting ADMIN_USERS: not a Slack user or user-group id: @alice"):
        load_settings()


def test_actions_are_announced_in_actions_channel_else_alert_channel_else_nowhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().announce_to is None
    monkeypatch.setenv("ALERT_CHANNEL", "C0ALERTS")
    assert load_settings().announce_to == "C0ALERTS"
    monkeypatch.setenv("ACTIONS_CHANNEL", "C0ACTIONS")
    assert load_settings().announce_to == "C0ACTIONS"


@pytest.mark.parametrize("whom", ["U0ONCALL", "W0GRID", "S0TEAM"])
def test_the_alert_mention_is_a_user_or_a_user_group_id(monkeypatch: pytest.MonkeyPatch, whom: str) -> None:
    monkeypatch.setenv("ALERT_MENTION", whom)
    monkeypatch.setenv("ALERT_MENTION_AFTER", "20m")
    settings = load_settings()
    assert (settings.alert_mention, settings.alert_mention_after) == (whom, timedelta(minutes=20))


@pytest.mark.parametrize(
    ("value", "expected"), [(None, timedelta(minutes=30)), ("1m", timedelta(minutes=1)), ("1d", timedelta(days=1))]
)
def test_the_reset_nudge_waits_thirty_minutes_unless_told(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: timedelta
) -> None:
    if value is None:
        monkeypatch.delenv("RESET_NUDGE_AFTER", raising=False)
    else:
        monkeypatch.setenv("RESET_NUDGE_AFTER", value)
    assert load_settings().reset_nudge_after == expected


@pytest.mark.parametrize("value", ["30s", "2d", "soon", "-5"])
def test_a_reset_nudge_sooner_than_a_minute_or_later_than_a_day_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RESET_NUDGE_AFTER", value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith("invalid setting RESET_NUDGE_AFTER: ")


def test_approval_ttl_is_thirty_minutes_by_default_and_kept_between_a_minute_and_a_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().approval_ttl == timedelta(minutes=30)
    monkeypatch.setenv("APPROVAL_TTL", "2h")
    assert load_settings().approval_ttl == timedelta(hours=2)
    for bad, why in (("30s", "greater than or equal to"), ("2d", "less than or equal to"), ("soon", "expected")):
        monkeypatch.setenv("APPROVAL_TTL", bad)
        with pytest.raises(SettingsError, match=rf"^invalid setting APPROVAL_TTL: .*{why}"):
            load_settings()


def test_auto_recovery_is_off_by_default_and_reads_situation_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().auto_recover == frozenset() and load_settings().auto_recover_max == 50
    monkeypatch.setenv("AUTO_RECOVER", "wedged_orphaned,wedged_engine_closed")
    monkeypatch.setenv("AUTO_RECOVER_MAX", "200")
    monkeypatch.setenv("ALERT_CHANNEL", "C0ALERTS")
    loaded = load_settings()
    assert {s.key for s in loaded.auto_recover} == {"wedged_orphaned", "wedged_engine_closed"}
    assert loaded.auto_recover_max == 200


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("AUTO_RECOVER", "wedged_orphaned,wedged_error", "'wedged_error' is a situation that needs judgement"),
        ("AUTO_RECOVER", "orphaned", "'orphaned' is unknown"),
        ("AUTO_RECOVER_MAX", "0", "greater than or equal to 1"),
        ("AUTO_RECOVER_MAX", "many", "valid integer"),
    ],
)
def test_auto_recovery_refuses_a_situation_that_needs_judgement_and_a_bad_cap(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    monkeypatch.setenv("ALERT_CHANNEL", "C0ALERTS")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(f"invalid setting {name}: ") and said in str(error.value)


def test_auto_recovery_without_an_alert_channel_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_RECOVER", "wedged_orphaned")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value) == (
        "invalid settings: AUTO_RECOVER needs ALERT_CHANNEL: the scan starts the batches and announces them there"
    )
