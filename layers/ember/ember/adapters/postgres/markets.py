"""Markets in PostgreSQL, synced from the config file checked into the repo."""

from __future__ import annotations

import psycopg

from ember.domain.markets import Market

from .database import Database

_UPSERT = """
INSERT INTO markets (id, title, outcomes, interval_s, bet_window_s, commission_bps,
                     min_bet, max_bet, resolve_grace_s, active, updated_at)
VALUES (%(id)s, %(title)s, %(outcomes)s, %(interval_s)s, %(bet_window_s)s, %(commission_bps)s,
        %(min_bet)s, %(max_bet)s, %(resolve_grace_s)s, %(active)s, now())
ON CONFLICT (id) DO UPDATE SET
    title = EXCLUDED.title, outcomes = EXCLUDED.outcomes, interval_s = EXCLUDED.interval_s,
    bet_window_s = EXCLUDED.bet_window_s, commission_bps = EXCLUDED.commission_bps,
    min_bet = EXCLUDED.min_bet, max_bet = EXCLUDED.max_bet,
    resolve_grace_s = EXCLUDED.resolve_grace_s, active = EXCLUDED.active, updated_at = now()
"""


def _row_to_market(row: dict) -> Market:
    fields = {k: v for k, v in row.items() if k != "updated_at"}
    return Market(**{**fields, "outcomes": tuple(fields["outcomes"])})


class PostgresMarkets:
    def __init__(self, db: Database) -> None:
        self.db = db

    def sync(self, markets: list[Market]) -> None:
        """Make the table match the file: listed markets upserted, unlisted ones deactivated.

        Rounds already created keep the terms they copied; edits apply to new rounds only.
        """
        def work(conn: psycopg.Connection) -> None:
            for market in markets:
                conn.execute(_UPSERT, {**market.__dict__, "outcomes": list(market.outcomes)})
            conn.execute("UPDATE markets SET active = false, updated_at = now()"
                         " WHERE active AND NOT (id = ANY(%s))", ([m.id for m in markets],))
        self.db.run(work)

    def active(self) -> list[Market]:
        rows = self.db.run(lambda conn: conn.execute(
            "SELECT * FROM markets WHERE active ORDER BY id").fetchall())
        return [_row_to_market(row) for row in rows]

    def all(self) -> list[Market]:
        rows = self.db.run(lambda conn: conn.execute("SELECT * FROM markets ORDER BY id").fetchall())
        return [_row_to_market(row) for row in rows]
