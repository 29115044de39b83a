"""The composition root: builds every collaborator once per process and hands them out."""

from __future__ import annotations

from dataclasses import dataclass, field

from ember.adapters.postgres.bets import PostgresBets
from ember.adapters.postgres.database import Database
from ember.adapters.postgres.ledger import PostgresLedger
from ember.adapters.postgres.markets import PostgresMarkets
from ember.adapters.postgres.rounds import PostgresRounds
from ember.adapters.postgres.salts import LocalBeaconSalts
from ember.domain.clock import Clock, SystemClock
from ember.services.ports import SaltSource

from .settings import Settings


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
    extras: dict = field(default_factory=dict)

    def close(self) -> None:
        self.db.close()


def build(settings: Settings, *, clock: Clock | None = None,
          salts: SaltSource | None = None) -> Ember:
    db = Database(settings.database_url, max_size=settings.db_pool_size)
    return Ember(
        settings=settings, db=db, clock=clock or SystemClock(), ledger=PostgresLedger(db),
        markets=PostgresMarkets(db), rounds=PostgresRounds(db), bets=PostgresBets(db),
        salts=salts or LocalBeaconSalts(db),
    )
