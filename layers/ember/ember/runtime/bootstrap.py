"""The composition root: builds every collaborator once per process and hands them out."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

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

    def close(self) -> None:
        publisher = self.__dict__.get("publisher")  # only if it was made
        if publisher is not None:
            publisher.close()
        self.db.close()


def build(settings: Settings, *, clock: Clock | None = None,
          salts: SaltSource | None = None) -> Ember:
    db = Database(settings.database_url, max_size=settings.db_pool_size)
    return Ember(
        settings=settings, db=db, clock=clock or SystemClock(), ledger=PostgresLedger(db),
        markets=PostgresMarkets(db), rounds=PostgresRounds(db), bets=PostgresBets(db),
        salts=salts or LocalBeaconSalts(db), outbox=PostgresOutbox(db),
        protection=PostgresProtection(db), reads=ReadModels(db),
    )
