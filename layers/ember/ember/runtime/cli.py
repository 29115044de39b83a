"""The `ember` command: the local stack, migrations, markets, the keeper, the outbox relay,
deposits, the demo, the chain's contracts.

Results go to stdout, progress and JSON logs to stderr, so `eval "$(ember up)"` works.
Without DATABASE_URL, every command but up/down/status uses the local stack under
`--root`. A bad setting or a refused request prints one line and exits 2.
"""

from __future__ import annotations

import functools
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import psycopg
from aws_lambda_powertools import Logger
from psycopg_pool import PoolTimeout
from rich.console import Console
from rich.table import Table

from ember.domain.errors import EmberError
from ember.domain.money import CURRENCY, format_major
from ember.runtime import cli_api, cli_chain, cli_consumers, cli_report, local_stack
from ember.runtime.bootstrap import Ember
from ember.runtime.cli_context import (
    ember_at,
    ember_for,
    progress,
    redact,
    settings_for,
    sync_markets,
)
from ember.runtime.cli_context import (
    migrate as apply_schema,
)
from ember.runtime.local_stack.stack import DEFAULT_ROOT
from ember.runtime.logging import SERVICE, new_correlation
from ember.runtime.settings import Settings, SettingsError, load_settings
from ember.services.cashier import credit_deposit
from ember.services.keeper import run_keeper
from ember.services.outbox_relay import publish_after_commit, relay_outbox
from ember.services.ports import Publisher

logger = Logger(service=SERVICE, child=True)

root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_ROOT,
    envvar="EMBER_STACK_ROOT", show_default=True,
    help="Folder holding the embedded services' data, logs and state.")


class _EmberGroup(click.Group):
    """Turns the errors an operator can act on into one line on stderr, no traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SettingsError as error:
            _fail(str(error), 2)
        except EmberError as error:
            _fail(f"{error.code}: {error.detail}", 2)
        except local_stack.StackError as error:
            _fail(str(error), 1)
        except psycopg.errors.UndefinedTable as error:
            _fail(f"database schema missing ({error.diag.message_primary});"
                  " run `ember migrate`", 1)
        except (psycopg.OperationalError, PoolTimeout) as error:
            _fail(f"database: {str(error).strip().splitlines()[0]}", 1)
        return None


def _fail(message: str, code: int) -> None:
    click.echo(f"ember: {message}", err=True)
    sys.exit(code)


@click.group(cls=_EmberGroup)
def main() -> None:
    """Ember operator tooling: local stack, schema, markets, keeper, deposits, demo."""


@main.command()
@root_option
def up(root: Path) -> None:
    """Start (or reuse) the local stack and chain, migrate, sync markets; print `export` lines."""
    urls = local_stack.up(root, log=progress, with_chain=True)
    settings = load_settings(**urls.as_env())
    apply_schema(settings)
    with ember_for(settings) as app:
        sync_markets(app)
    _ensure_topics(settings)
    cli_consumers.start_detached(root, settings, urls.as_env())
    for name, value in urls.as_env().items():
        click.echo(f"export {name}={shlex.quote(value)}")


@main.command()
@root_option
def down(root: Path) -> None:
    """Stop the embedded services this root started (env-named ones are never touched)."""
    cli_consumers.stop_detached(root)
    local_stack.down(root, log=progress)


@main.command()
@root_option
def status(root: Path) -> None:
    """A table of the stack's services; exits 1 when any of them does not answer."""
    services = local_stack.status(root)
    table = Table("service", "source", "url", "pid", "healthy")
    for service in services:
        table.add_row(service.name, service.source, redact(service.url) or "-",
                      str(service.pid or "-"), "yes" if service.healthy else "NO")
    _wide_console().print(table)
    if not all(service.healthy for service in services):
        sys.exit(1)


@main.command()
@root_option
def migrate(root: Path) -> None:
    """Apply pending schema migrations."""
    apply_schema(settings_for(root))


@main.group()
def markets() -> None:
    """Markets offered, from the markets file (EMBER_MARKETS_FILE)."""


@markets.command("sync")
@root_option
def markets_sync(root: Path) -> None:
    """Upsert the file's markets and deactivate the ones it no longer lists."""
    with ember_at(root) as app:
        for market in sync_markets(app):
            click.echo(f"market_synced id={market.id} outcomes={len(market.outcomes)}"
                       f" interval_s={market.interval_s} commission_bps={market.commission_bps}")


def repeat_options(command: Callable[..., None]) -> Callable[..., None]:
    """`--once` or `--every SECONDS` (not both) for a command that runs passes."""
    @click.option("--once", is_flag=True, help="Run one pass and exit.")
    @click.option("--every", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
                  help="Seconds between passes.")
    @functools.wraps(command)
    def checked(**kwargs: Any) -> None:
        every_given = click.get_current_context().get_parameter_source("every")
        if kwargs["once"] and every_given is not click.core.ParameterSource.DEFAULT:
            raise click.UsageError("--once and --every exclude each other")
        command(**kwargs)

    return checked


@main.command()
@root_option
@repeat_options
def keeper(root: Path, once: bool, every: float) -> None:
    """Open upcoming rounds, lock them and resolve those due: once, or every few seconds."""
    with ember_at(root) as app:
        if once:
            _keeper_pass(app)
        else:
            _repeat(lambda: _keeper_pass(app), every, "keeper_pass_failed")


def _repeat(one_pass: Callable[[], None], every: float, failure_event: str) -> None:
    """Passes until interrupted; a failed pass is logged and the next one tries again."""
    try:
        while True:
            try:
                one_pass()
            except (psycopg.Error, PoolTimeout):  # the database may be back by the next pass
                logger.exception(failure_event)
            time.sleep(every)
    except KeyboardInterrupt:
        return


def _keeper_pass(app: Ember) -> None:
    correlation_id = new_correlation(logger)
    run = run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=app.clock,
                     ahead=app.settings.rounds_ahead,
                     after_commit=publish_after_commit(outbox=app.outbox, publisher=app.publisher))
    click.echo(f"keeper_pass correlation_id={correlation_id} created={run.created}"
               f" opened={run.opened} locked={run.locked} resolved={len(run.resolved)}")


@main.command()
@root_option
@repeat_options
def relay(root: Path, once: bool, every: float) -> None:
    """Publish the outbox's unpublished events to Kafka: once, or every few seconds."""
    with ember_at(root) as app:
        publisher = app.publisher
        if publisher is None:
            raise SettingsError("invalid setting KAFKA_BOOTSTRAP_SERVERS: is required by the relay")
        if once:
            _relay_pass(app, publisher)
        else:
            _repeat(lambda: _relay_pass(app, publisher), every, "relay_pass_failed")


def _relay_pass(app: Ember, publisher: Publisher) -> None:
    correlation_id = new_correlation(logger)
    run = relay_outbox(outbox=app.outbox, publisher=publisher)
    click.echo(f"relay_pass correlation_id={correlation_id} published={run.published}"
               f" batches={run.batches} skipped={str(run.skipped).lower()}"
               f" failed={str(run.error is not None).lower()}")


def _ensure_topics(settings: Settings) -> None:
    """Creates the event and dead-letter topics the broker does not have yet."""
    if not settings.kafka_bootstrap_servers:
        return
    from ember.adapters.kafka.config import client_config  # kafka-python: only when needed
    from ember.adapters.kafka.topics import ember_topics, ensure_topics

    config = client_config(settings.kafka_bootstrap_servers, settings.kafka_security,
                           settings.aws_region)
    created = ensure_topics(config, ember_topics())
    progress(f"topics created={','.join(created) or 'none'}")


@main.command()
@root_option
@click.argument("player")
@click.argument("amount", type=int)
@click.option("--payment-id", required=True,
              help="The payment's external id: crediting the same id again changes nothing.")
def deposit(root: Path, player: str, amount: int, payment_id: str) -> None:
    """Credit PLAYER with AMOUNT minor units (1 USDT = 1000000) for one external payment."""
    with ember_at(root) as app:
        credited = credit_deposit(payment_id, player, amount, ledger=app.ledger, clock=app.clock)
    verb = "already_credited" if credited.replayed else "credited"
    click.echo(f"{verb} player={player} payment_id={payment_id}"
               f" amount={format_major(credited.amount)} balance={format_major(credited.balance)}"
               f" currency={CURRENCY}")


@main.command()
@root_option
@click.argument("player")
def balance(root: Path, player: str) -> None:
    """PLAYER's balance, in USDT and in minor units."""
    with ember_at(root) as app:
        amount = app.ledger.balance(player)
    click.echo(f"player={player} balance={format_major(amount)} currency={CURRENCY}"
               f" minor={amount}")


@main.command()
@root_option
@click.option("--players", type=click.IntRange(1, 26), default=5, show_default=True)
@click.option("--rounds", type=click.IntRange(1, 50), default=3, show_default=True)
@click.option("--speed", type=click.FloatRange(0.25, 5.0), default=1.0, show_default=True,
              help="Round pace: rounds last 10 s at 1, 5 s at 2, 3 s (the shortest) from 3.")
@click.option("--fresh", is_flag=True,
              help="Drop and recreate the database DATABASE_URL names (the stack's `ember`)"
                   " and deploy the contracts afresh.")
def demo(root: Path, players: int, rounds: int, speed: float, fresh: bool) -> None:
    """All of Ember on this machine, players betting over HTTP, a live view, then an audit
    of the books and the chain; exits 1 if the audit fails, 130 when interrupted."""
    import os

    from ember.runtime import demo as scenario  # the demo is only needed here
    from ember.runtime.logging import configure

    configure(os.environ.get("EMBER_LOG_LEVEL", "WARNING").upper(), stream=sys.stderr)
    options = scenario.DemoOptions(root=root, players=players, rounds=rounds, speed=speed,
                                   fresh=fresh)
    sys.exit(scenario.run_demo(options, _wide_console(), progress))


def _wide_console() -> Console:
    """A console for tables; piped output gets 120 columns instead of rich's default 80."""
    return Console(width=None if sys.stdout.isatty() else 120)


cli_api.register(main, root_option)  # `ember api`, `ember token`
cli_consumers.register(main, root_option)  # `ember consumers`
cli_chain.register(main, root_option)  # `ember chain deploy`, `ember chain status`
cli_report.register(main, root_option)  # `ember report`

if __name__ == "__main__":
    main()
