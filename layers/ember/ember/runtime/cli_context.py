"""What a CLI command runs against: settings, the stack, logging and the wired application.

Without DATABASE_URL a command uses the local stack under its `--root` (started if it is
not running). Progress and logs go to stderr so stdout stays for results.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import click
import psycopg
from aws_lambda_powertools import Logger

from ember.domain.errors import InvalidMarket
from ember.domain.markets import Market
from ember.runtime import local_stack
from ember.runtime.bootstrap import Ember, build, database_url_for_tools
from ember.runtime.logging import configure
from ember.runtime.migrate import apply_migrations
from ember.runtime.settings import Settings, SettingsError, load_settings
from ember.services.markets_config import load_markets


def progress(line: str) -> None:
    """Writes a progress line to stderr."""
    click.echo(line, err=True)


def settings_for(root: Path) -> Settings:
    """Settings from the environment; without DATABASE_URL, the local stack's URLs."""
    if os.environ.get("DATABASE_URL"):
        return load_settings()
    urls = local_stack.up(root, log=progress)  # reuses the running services
    return load_settings(**urls.as_env())


@contextmanager
def ember_at(root: Path) -> Iterator[Ember]:
    """The wired application for one command, closed when the command ends."""
    settings = settings_for(root)
    configure_logging(settings)
    with ember_for(settings) as app:
        yield app


@contextmanager
def ember_for(settings: Settings) -> Iterator[Ember]:
    """The wired application for `settings`, once the database answers."""
    require_database(settings.database_url)
    app = build(settings)
    try:
        yield app
    finally:
        app.close()


def configure_logging(settings: Settings, *, quiet: bool = False) -> Logger:
    """The root Ember logger, writing JSON lines to stderr.

    `quiet` (the demo) shows only warnings unless EMBER_LOG_LEVEL says otherwise, so its
    tables stay readable.
    """
    explicit = "log_level" in settings.model_fields_set
    level = settings.log_level if explicit or not quiet else "WARNING"
    return configure(level, stream=sys.stderr)


def require_database(url: str) -> None:
    """Returns once the database answers; fails at once otherwise (the pool would wait 30 s)."""
    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        raise psycopg.OperationalError(
            f"cannot reach DATABASE_URL {redact(url)}: {reason}") from None


def migrate(settings: Settings) -> list[str]:
    """The ids of the migrations applied now."""
    applied = apply_migrations(database_url_for_tools(settings))
    progress(f"migrations applied={','.join(applied) or 'none'}")
    return applied


def config_markets(settings: Settings) -> list[Market]:
    """The markets file's markets; a missing or malformed file names the setting."""
    path = settings.markets_file
    if not path.is_file():
        raise SettingsError(f"invalid setting EMBER_MARKETS_FILE: no file at {path}")
    try:
        return load_markets(path)
    except tomllib.TOMLDecodeError as error:
        raise InvalidMarket(f"{path}: {error}") from None


def sync_markets(app: Ember) -> list[Market]:
    """The markets file's markets, now the database's active ones."""
    markets = config_markets(app.settings)
    app.markets.sync(markets)
    progress(f"markets synced={','.join(m.id for m in markets)}")
    return markets


def redact(url: str | None) -> str | None:
    """The URL without its password, for display."""
    if not url or "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
