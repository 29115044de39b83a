"""The composition root: builds every collaborator once per process and hands them out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ember.adapters.postgres.bets import PostgresBets
from ember.adapters.postgres.database import Database
from ember.adapters.postgres.ledger import PostgresLedger
from ember.adapters.postgres.markets import PostgresMarkets
from ember.adapters.postgres.outbox import PostgresOutbox
from ember.adapters.postgres.protection import PostgresProtection
from ember.adapters.postgres.read_models import ReadModels
from ember.adapters.postgres.rounds import PostgresRounds
from ember.adapters.postgres.salts import LocalBeaconSalts
from ember.domain.clock import Clock, SystemClock
from ember.services.ports import SaltSource

from .settings import Settings

if TYPE_CHECKING:
    from ember.adapters.kafka.events import KafkaEventPublisher
    from ember.services.buy_back import KillSwitch
    from ember.services.buyback_ports import Controls

    from .chain_wiring import ChainWiring


@dataclass
class Ember:
    """Everything a handler needs, wired."""

    settings: Settings
    db: Database
    clock: Clock
    ledger: PostgresLedger
    markets: PostgresMarkets
    rounds: PostgresRounds
    bets: PostgresBets
    salts: SaltSource
    outbox: PostgresOutbox
    protection: PostgresProtection
    reads: ReadModels

    @cached_property
    def publisher(self) -> KafkaEventPublisher | None:
        """Publishes outbox events to Kafka, made on first use; None without KAFKA_BOOTSTRAP_SERVERS."""
        if not self.settings.kafka_bootstrap_servers:
            return None
        # Imported here: kafka-python takes ~0.5 s to import, and the API never publishes.
        from ember.adapters.kafka.config import client_config
        from ember.adapters.kafka.events import KafkaEventPublisher

        return KafkaEventPublisher(client_config(self.settings.kafka_bootstrap_servers,
                                                 self.settings.kafka_security,
                                                 self.settings.aws_region))

    @cached_property
    def redis_password(self) -> SecretStr | None:
        """The Redis AUTH token from Secrets Manager (EMBER_REDIS_AUTH_SECRET_ID), read once,
        on first use (the API: at start, with its rate limiter); None without the setting, the
        password then being REDIS_URL's, if any. Every Redis client of the process uses it."""
        secret_id = self.settings.redis_auth_secret_id
        if not secret_id:
            return None
        from ember.adapters.aws.credentials import read_secret

        return SecretStr(read_secret(secret_id, variable="EMBER_REDIS_AUTH_SECRET_ID",
                                     region=self.settings.aws_region))

    @cached_property
    def chain(self) -> ChainWiring:
        """The buy-back's and burn's chain, DEX, CEX and price adapters, made on first use."""
        # Imported here: web3 (and ccxt, when a CEX is set) take seconds to import, and the
        # API never buys or burns.
        from .chain_wiring import ChainWiring

        return ChainWiring(self.settings, self.db)

    @cached_property
    def kill_switch(self) -> KillSwitch:
        """Halts buy-backs and burns: the setting, the operators' switch in the database,
        and on AWS the SSM parameter EMBER_KILL_SWITCH_PARAMETER (read before each step)."""
        from ember.adapters.postgres.buybacks import PostgresBuybacks
        from ember.services.buy_back import KillSwitch

        switches: list[Controls] = [PostgresBuybacks(self.db)]
        if self.settings.kill_switch_parameter:
            import boto3

            from ember.adapters.aws.ssm_switch import SsmSwitch

            ssm = boto3.client("ssm", region_name=self.settings.aws_region)
            switches.append(SsmSwitch(ssm, self.settings.kill_switch_parameter))
        return KillSwitch(self.settings.buybacks_halted, *switches)

    def close(self) -> None:
        publisher = self.__dict__.get("publisher")  # only if it was made
        if publisher is not None:
            publisher.close()
        self.db.close()


class SaltsOnFirstUse:
    """A SaltSource made on its first `salt_for`: web3 loads only in a process that draws.

    The API Lambda builds the same Ember but never resolves a round, so its cold start
    never pays for web3.
    """

    def __init__(self, make: Callable[[], SaltSource]) -> None:
        self._make = make
        self._source: SaltSource | None = None

    def salt_for(self, round_id: uuid.UUID, now: datetime) -> str | None:
        if self._source is None:
            self._source = self._make()
        return self._source.salt_for(round_id, now)


def salt_source(settings: Settings, db: Database) -> SaltSource:
    """The salts EMBER_SALT_SOURCE names: block hashes from CHAIN_RPC_URL, or the local beacon."""
    if settings.effective_salt_source != "block-hash":
        return LocalBeaconSalts(db)
    rpc_url, confirmations = str(settings.chain_rpc_url), settings.chain_confirmations

    def make() -> SaltSource:
        from ember.adapters.chain.salts import BlockHashSalts

        return BlockHashSalts.connect(db, rpc_url, confirmations)
    return SaltsOnFirstUse(make)


def database(settings: Settings, **options: Any) -> Database:
    """The pool DATABASE_URL names; with EMBER_DATABASE_AUTH=iam each new connection's
    password is a fresh RDS IAM auth token (and TLS is required)."""
    connect_kwargs = None
    if settings.database_auth == "iam":
        from ember.adapters.aws.credentials import RdsIamAuth

        connect_kwargs = RdsIamAuth.from_url(settings.database_url, region=settings.aws_region)
    return Database(settings.database_url, connect_kwargs=connect_kwargs,
                    **{"max_size": settings.db_pool_size, **options})


def database_url_for_tools(settings: Settings) -> str:
    """DATABASE_URL for a tool that connects by URL (the migrations): with
    EMBER_DATABASE_AUTH=iam, a fresh RDS IAM auth token as its password."""
    if settings.database_auth != "iam":
        return settings.database_url
    from psycopg.conninfo import conninfo_to_dict

    from ember.adapters.aws.credentials import RdsIamAuth

    auth = RdsIamAuth.from_url(settings.database_url, region=settings.aws_region)
    return auth.url(str(conninfo_to_dict(settings.database_url).get("dbname") or auth.user))


def build(settings: Settings, *, clock: Clock | None = None,
          salts: SaltSource | None = None) -> Ember:
    db = database(settings)
    return Ember(
        settings=settings, db=db, clock=clock or SystemClock(), ledger=PostgresLedger(db),
        markets=PostgresMarkets(db), rounds=PostgresRounds(db), bets=PostgresBets(db),
        salts=salts or salt_source(settings, db), outbox=PostgresOutbox(db),
        protection=PostgresProtection(db), reads=ReadModels(db),
    )
