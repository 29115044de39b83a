"""What the live view shows, read from the database, the chain and the players' tally."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row

from .chain import ChainView
from .players import Tally

_TOTALS = """
SELECT
  (SELECT count(*) FROM rounds WHERE id = ANY(%(rounds)s::uuid[])
      AND status = 'settled') AS settled,
  (SELECT count(*) FROM rounds WHERE id = ANY(%(rounds)s::uuid[])
      AND status = 'refunded') AS refunded,
  (SELECT coalesce(sum((payload->>'amount')::bigint), 0) FROM outbox
      WHERE type = 'commission.accrued')::bigint AS commission,
  (SELECT count(*) FROM buybacks WHERE status = 'bought') AS buybacks,
  (SELECT count(*) FROM buybacks WHERE status = 'refused') AS refused_buybacks,
  (SELECT coalesce(sum(spent), 0) FROM buybacks WHERE status = 'bought')::bigint AS spent,
  (SELECT coalesce(sum(burned), 0) FROM burns WHERE status = 'done')::numeric AS burned,
  (SELECT coalesce(sum(dividend), 0) FROM burns WHERE status = 'done')::numeric AS dividends,
  (SELECT count(*) FROM burns WHERE status = 'pending') AS pending_burns,
  (SELECT count(*) FROM buybacks WHERE status = 'planned') AS planned_buybacks,
  (SELECT count(*) FROM buybacks b WHERE b.status = 'bought' AND b.planned_at >= %(since)s
      AND NOT EXISTS (SELECT FROM burns WHERE buyback_id = b.id AND status = 'done'))
      AS unburned,
  (SELECT coalesce(sum(balance), 0) FROM account_balances WHERE id = 'commission')::bigint
      AS commission_pool,
  (SELECT count(*) FROM consumer_failures) AS consumer_failures
"""


@dataclass(frozen=True)
class Stats:
    """One reading; money in minor units, tokens in wei."""

    at: float = 0.0
    bets: int = 0
    settled: int = 0
    refunded: int = 0
    commission: int = 0
    buybacks: int = 0
    refused_buybacks: int = 0
    spent: int = 0
    burned: int = 0
    dividends: int = 0
    pending_burns: int = 0
    planned_buybacks: int = 0
    unburned: int = 0  # bought during this run, not burned yet (tokens.bought on its way)
    commission_pool: int = 0
    consumer_failures: int = 0
    supply: int | None = None
    errors: int = 0
    refused_bets: int = 0
    dead: tuple[str, ...] = field(default_factory=tuple)


class StatsReader:
    """Readings for one run: database totals, the chain's supply, the players' counters."""

    def __init__(self, database_url: str, chain: ChainView, tally: Tally,
                 rounds: Callable[[], list[str]], since: float) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True, row_factory=dict_row)
        self.chain, self.tally, self.rounds = chain, tally, rounds
        self.since = datetime.fromtimestamp(since, tz=UTC)

    def read(self, dead: list[str] | None = None) -> Stats:
        """Settled and refunded count the rounds `rounds()` names (the ones played)."""
        row = self.conn.execute(_TOTALS, {"rounds": self.rounds(), "since": self.since}).fetchone()
        supply = None
        with contextlib.suppress(Exception):  # the view must not die with a slow node
            supply = self.chain.total_supply()
        with self.tally.lock:
            bets, errors = self.tally.bets, sum(self.tally.errors.values())
            refused = sum(self.tally.refused.values())
        return Stats(at=time.monotonic(), bets=bets, supply=supply,
                     errors=errors + len(dead or ()) + int(row["consumer_failures"]),
                     refused_bets=refused, dead=tuple(dead or ()),
                     **{k: int(v) for k, v in row.items()})

    def close(self) -> None:
        self.conn.close()


def since_start(now: Stats, baseline: Stats) -> Stats:
    """The run's own share of the cumulative figures (the database may hold earlier runs)."""
    return replace(now, commission=now.commission - baseline.commission,
                   buybacks=now.buybacks - baseline.buybacks, spent=now.spent - baseline.spent,
                   burned=now.burned - baseline.burned,
                   dividends=now.dividends - baseline.dividends,
                   refused_buybacks=now.refused_buybacks - baseline.refused_buybacks)
