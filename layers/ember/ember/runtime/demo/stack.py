"""Everything the demo runs on, brought up or reused: the local stack (env-named services as
given, the rest embedded), moto for AWS, the schema, the contracts, the topics and the markets.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from ember.domain.markets import Market
from ember.runtime import local_stack
from ember.runtime.cli_api import JWT_SECRET_FILE, local_jwt_secret
from ember.runtime.cli_context import config_markets, ember_for
from ember.runtime.local_stack.chain import contracts_dir
from ember.runtime.migrate import apply_migrations
from ember.runtime.settings import Settings, SettingsError, load_settings

from . import aws, chain
from .market import DemoOptions, demo_market

Log = Callable[[str], None]
_SERVER_DATABASES = {"", "postgres", "template0", "template1"}
# A buy-back as soon as 0.10 USDT of commission is pooled, guarded against the dev pool's price
# (100,000 USDT for 100,000,000 tokens: 0.001 USDT per token = 1 minor unit per 10^15 wei).
BUYBACK_SETTINGS = {
    "EMBER_REFERENCE_PRICE": "1/1000000000000000 dev-pool",
    "EMBER_BUYBACK_THRESHOLD": "100000", "EMBER_BUYBACK_MAX_DELAY_S": "60",
    "EMBER_BUYBACK_TRANCHE_INTERVAL_S": "1", "EMBER_BUYBACK_MAX_SLIPPAGE_BPS": "300",
    "EMBER_BUYBACK_MAX_POOL_DEVIATION_BPS": "500", "EMBER_BURN_SHARE_BPS": "8000",
}


@dataclass
class DemoStack:
    """The demo's environment, ready: what its processes get and what it reads itself."""

    env: dict[str, str]  # the full environment of the API, keeper, relay and consumers
    settings: Settings
    market: Market
    deployment: chain.DemoDeployment
    aws: aws.LocalAws
    repo: Path  # where functions/ and config/ are

    def close(self) -> None:
        self.aws.stop()


def bring_up(options: DemoOptions, log: Log, environ: Mapping[str, str] | None = None) -> DemoStack:
    """The demo's stack, running; the local stack stays up afterwards (`ember down` stops it)."""
    environ = dict(os.environ if environ is None else environ)
    root = options.root.resolve()
    urls = local_stack.up(root, environ, log=log, with_chain=True)
    assert urls.chain_rpc_url is not None  # with_chain
    local = aws.start_aws(environ)
    try:
        log(f"aws {local.source} url={local.env['AWS_ENDPOINT_URL']}")
        if options.fresh:
            recreate_database(urls.database_url)
            chain.forget(root / "demo")
            log("fresh database=recreated deployment=forgotten")
        log(f"migrations applied={','.join(apply_migrations(urls.database_url)) or 'none'}")
        deployed = chain.deploy(urls.chain_rpc_url, root / "demo", log)
        aws.provision(local, deployed.wallet_key)
        repo = contracts_dir().parent
        env = _environment(environ, urls.as_env(), local.env, deployed, root, repo)
        settings = load_settings(**env)
        market = demo_market(options.speed)
        with ember_for(settings) as app:
            app.markets.sync([*config_markets(settings), market])
        _ensure_topics(settings)
        return DemoStack(env, settings, market, deployed, local, repo)
    except BaseException:
        local.stop()
        raise


def _environment(environ: Mapping[str, str], services: Mapping[str, str],
                 aws_env: Mapping[str, str], deployed: chain.DemoDeployment, root: Path,
                 repo: Path) -> dict[str, str]:
    """Settings given in the environment win, except what ties the demo to its deployment."""
    functions = repo / "functions"
    defaults = {
        **BUYBACK_SETTINGS,
        "EMBER_MARKETS_FILE": str(repo / "config" / "markets.toml"),
        "EMBER_JWT_SECRET": local_jwt_secret(root / JWT_SECRET_FILE),
        "EMBER_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "EMBER_REPORTS_DIR": str(root / "demo" / "reports"),
    }
    forced = {
        **services, **aws_env, **aws.aws_settings(),
        "EMBER_STACK_ROOT": str(root), "EMBER_AUTH_MODE": "hs256",
        "EMBER_DEPLOYMENT_FILE": str(deployed.file), "EMBER_SALT_SOURCE": "block-hash",
        "EMBER_CONSUMER_MODULES": f"{functions / 'buy_tokens' / 'app.py'},"
                                  f"{functions / 'burn' / 'app.py'}",
    }
    return {**defaults, **environ, **forced}


def _ensure_topics(settings: Settings) -> None:
    from ember.adapters.kafka.config import client_config
    from ember.adapters.kafka.topics import ember_topics, ensure_topics

    assert settings.kafka_bootstrap_servers
    ensure_topics(client_config(settings.kafka_bootstrap_servers, settings.kafka_security,
                                settings.aws_region), ember_topics())


def recreate_database(url: str) -> None:
    """Drops and recreates, empty, the database `url` names; refuses the server's own."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if name in _SERVER_DATABASES:
        raise SettingsError(f"invalid setting DATABASE_URL: --fresh will not drop {name!r};"
                            " name a database of its own")
    admin = urlunsplit(parts._replace(path="/postgres"))
    database = sql.Identifier(name)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(database))
