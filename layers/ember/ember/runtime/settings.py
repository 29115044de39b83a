"""Settings from the environment, read once and validated at start.

A bad value stops the process with the variable's name, e.g.
`invalid setting DATABASE_URL: must be a postgresql:// URL`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = Field(validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    kafka_bootstrap_servers: str | None = Field(default=None,
                                                validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    markets_file: Path = Field(default=Path("config/markets.toml"),
                               validation_alias="EMBER_MARKETS_FILE")
    db_pool_size: int = Field(default=10, ge=1, le=200, validation_alias="EMBER_DB_POOL_SIZE")
    rounds_ahead: int = Field(default=2, ge=0, le=100, validation_alias="EMBER_ROUNDS_AHEAD")
    log_level: str = Field(default="INFO", validation_alias="EMBER_LOG_LEVEL")

    @field_validator("database_url")
    @classmethod
    def _postgres(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()


def load_settings(**overrides: object) -> Settings:
    """The validated settings; SettingsError names each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = [_describe(e) for e in error.errors()]
        raise SettingsError("; ".join(problems)) from None


def _describe(problem: Any) -> str:
    variable = str(problem["loc"][0]) if problem["loc"] else "?"
    field = Settings.model_fields.get(variable)
    name = (field.validation_alias if field and field.validation_alias else variable)
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "missing":
        message = "is required"
    return f"invalid setting {name}: {message}"
