"""Read-side queries for the API: pages of rounds and bets, round views, insights."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ember.domain.errors import RoundNotFound

from .database import Database
from .ledger import player_balance
from .rounds import live_pools

_PUBLIC_ROUND = """
SELECT id, market_id, status, open_at, lock_at, close_at, deadline, outcome_count,
       commission_bps, min_bet, max_bet, seed_hash, server_seed, salt, outcome, refund_reason,
       total_staked, winning_stake, commission, dust, paid_out, refunded, resolved_at,
       (SELECT source FROM round_salts WHERE round_id = rounds.id AND rounds.salt IS NOT NULL)
           AS salt_source
  FROM rounds
"""


class ReadModels:
    def __init__(self, db: Database) -> None:
        self.db = db

    def round_with_pools(self, round_id: uuid.UUID) -> tuple[dict[str, Any], dict[int, int]]:
        """The round's public row and its stakes per outcome; RoundNotFound otherwise."""
        def work(conn):
            row = conn.execute(_PUBLIC_ROUND + " WHERE id = %s", (round_id,)).fetchone()
            if row is None:
                raise RoundNotFound("no such round", round_id=str(round_id))
            return row, live_pools(conn, round_id)
        return self.db.run(work)

    def rounds_page(self, market: str | None, status: str | None,
                    after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[dict[str, Any]]:
        """Rounds newest first, filtered, strictly after the cursor (open_at, id)."""
        where: list[str] = ["TRUE"]
        params: list[object] = []
        if market:
            where.append("market_id = %s")
            params.append(market)
        if status:
            where.append("status = %s")
            params.append(status)
        if after:
            where.append("(open_at, id) < (%s, %s)")
            params.extend(after)
        sql = _PUBLIC_ROUND + f" WHERE {' AND '.join(where)} ORDER BY open_at DESC, id DESC LIMIT %s"
        return self.db.run(lambda conn: conn.execute(sql, (*params, limit)).fetchall())

    def bets_page(self, player_id: str, after: tuple[datetime, uuid.UUID] | None,
                  limit: int) -> list[dict[str, Any]]:
        """The player's bets newest first, with what each returned once its round ended."""
        cursor = "AND (b.placed_at, b.id) < (%s, %s)" if after else ""
        sql = ("SELECT b.id, b.round_id, b.outcome, b.amount, b.placed_at, b.education,"
               " r.round_status, r.returned FROM bets b JOIN bet_results r ON r.id = b.id"
               f" WHERE b.player_id = %s {cursor} ORDER BY b.placed_at DESC, b.id DESC LIMIT %s")
        params = (player_id, *(after or ()), limit)
        return self.db.run(lambda conn: conn.execute(sql, params).fetchall())

    def bet(self, player_id: str, bet_id: uuid.UUID) -> dict[str, Any] | None:
        """One of the player's bets; None when it is not theirs (so nobody learns it exists)."""
        return self.db.run(lambda conn: conn.execute(
            "SELECT b.id, b.round_id, b.outcome, b.amount, b.placed_at, b.education,"
            " r.round_status, r.returned FROM bets b JOIN bet_results r ON r.id = b.id"
            " WHERE b.id = %s AND b.player_id = %s", (bet_id, player_id)).fetchone())

    def balance(self, player_id: str) -> int:
        return self.db.run(lambda conn: player_balance(conn, player_id))

    def insight_rows(self, player_id: str) -> list[dict[str, Any]]:
        """Per bet: stake, what came back (None while open), and what it was told."""
        return self.db.run(lambda conn: conn.execute(
            "SELECT b.amount, r.returned, b.education, r.round_status FROM bets b JOIN bet_results r"
            " ON r.id = b.id WHERE b.player_id = %s", (player_id,)).fetchall())

    def ledger_summary(self) -> list[dict[str, Any]]:
        """Balances summed per account kind (finance view); they sum to zero."""
        return self.db.run(lambda conn: conn.execute(
            "SELECT kind, count(*) AS accounts, sum(balance)::bigint AS balance"
            " FROM account_balances GROUP BY kind ORDER BY kind").fetchall())
