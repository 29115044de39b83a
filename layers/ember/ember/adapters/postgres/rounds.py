"""Rounds in PostgreSQL: creation with a sealed seed, status changes, set-based settlement."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ember.domain import ledger as accounts
from ember.domain.errors import RoundNotFound
from ember.domain.fairness import seed_hash
from ember.domain.markets import Market
from ember.domain.money import CURRENCY
from ember.domain.resolution import Resolution
from ember.domain.rounds import Round, RoundStatus, RoundTimes, round_id, round_times

from . import outbox
from .database import Database
from .settlement_sql import write_refunds, write_settlement

Judge = Callable[[Round, dict[int, int], str], Resolution | None]

ROUND_COLUMNS = ("id, market_id, status, open_at, lock_at, close_at, deadline, outcome_count,"
                  " commission_bps, min_bet, max_bet, seed_hash")


@dataclass(frozen=True)
class ResolvedRound:
    round_id: uuid.UUID
    status: RoundStatus
    outcome: int | None
    total: int
    paid_out: int
    refunded: int
    commission: int  # including dust


def round_from_row(row: dict) -> Round:
    return Round(
        id=row["id"], market_id=row["market_id"], status=RoundStatus(row["status"]),
        times=RoundTimes(row["open_at"], row["lock_at"], row["close_at"], row["deadline"]),
        outcome_count=row["outcome_count"], commission_bps=row["commission_bps"],
        min_bet=row["min_bet"], max_bet=row["max_bet"], seed_hash=row["seed_hash"],
    )


def lock_round(conn: psycopg.Connection, rid: uuid.UUID, mode: str) -> Round:
    """The round, locked in `mode` ('KEY SHARE' for bets, 'UPDATE' for resolution)."""
    row = conn.execute(f"SELECT {ROUND_COLUMNS} FROM rounds WHERE id = %s FOR {mode}",
                       (rid,)).fetchone()
    return round_or_not_found(row, rid)


def round_or_not_found(row: dict | None, rid: uuid.UUID) -> Round:
    """The round of a row just read; RoundNotFound when there was none."""
    if row is None:
        raise RoundNotFound("no such round", round_id=str(rid))
    return round_from_row(row)


def pools_of(conn: psycopg.Connection, rid: uuid.UUID) -> dict[int, int]:
    rows = conn.execute("SELECT outcome, sum(amount)::bigint AS staked FROM bets WHERE round_id = %s"
                        " GROUP BY outcome", (rid,)).fetchall()
    return {row["outcome"]: row["staked"] for row in rows}


def live_pools(conn: psycopg.Connection, rid: uuid.UUID) -> dict[int, int]:
    """Stakes per outcome from the pool shards: O(outcomes), for quotes and round views.

    Kept in the same transaction as each bet, so equal to `pools_of`; settlement uses
    `pools_of`, the bets themselves.
    """
    rows = conn.execute("SELECT outcome, sum(staked)::bigint AS staked FROM round_pool_shards"
                        " WHERE round_id = %s GROUP BY outcome", (rid,)).fetchall()
    return {row["outcome"]: row["staked"] for row in rows if row["staked"]}


class PostgresRounds:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, market: Market, open_at: datetime, seed: str, now: datetime) -> bool:
        """True when this call created the round (with its pool account and sealed seed)."""
        rid = round_id(market.id, open_at)
        times = round_times(market, open_at)
        status = RoundStatus.OPEN if open_at <= now else RoundStatus.SCHEDULED

        def work(conn: psycopg.Connection) -> bool:
            created = conn.execute(
                "INSERT INTO rounds (id, market_id, status, open_at, lock_at, close_at, deadline,"
                " outcome_count, commission_bps, min_bet, max_bet, seed_hash)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING RETURNING id",
                (rid, market.id, status, times.open_at, times.lock_at, times.close_at,
                 times.deadline, len(market.outcomes), market.commission_bps, market.min_bet,
                 market.max_bet, seed_hash(seed)),
            ).fetchone()
            if created is None:
                return False
            conn.execute("INSERT INTO round_seeds (round_id, server_seed) VALUES (%s, %s)", (rid, seed))
            conn.execute("INSERT INTO accounts (id, kind, currency) VALUES (%s, 'round_pool', %s)",
                         (accounts.round_pool(rid), CURRENCY))
            return True
        return self.db.run(work)

    def advance(self, now: datetime) -> tuple[int, int]:
        """(opened, locked): statuses brought up to `now`. Cosmetic: bets check times."""
        def work(conn: psycopg.Connection) -> tuple[int, int]:
            opened = conn.execute(
                "UPDATE rounds SET status = 'open' WHERE status = 'scheduled'"
                " AND open_at <= %(now)s AND lock_at > %(now)s", {"now": now}).rowcount
            locked = conn.execute(
                "UPDATE rounds SET status = 'locked' WHERE status IN ('scheduled', 'open')"
                " AND lock_at <= %(now)s", {"now": now}).rowcount
            return opened, locked
        return self.db.run(work)

    def due(self, now: datetime, limit: int = 100) -> list[uuid.UUID]:
        rows = self.db.run(lambda conn: conn.execute(
            "SELECT id FROM rounds WHERE status IN ('scheduled', 'open', 'locked')"
            " AND close_at <= %s ORDER BY close_at LIMIT %s", (now, limit)).fetchall())
        return [row["id"] for row in rows]

    def get(self, rid: uuid.UUID) -> Round:
        return self.db.run(lambda conn: lock_round(conn, rid, "KEY SHARE"))

    def pools(self, rid: uuid.UUID) -> dict[int, int]:
        return self.db.run(lambda conn: pools_of(conn, rid))

    def published(self, limit: int = 1000) -> list[dict]:
        """Resolved rounds as published: what anyone needs to recompute their outcomes."""
        rows = self.db.run(lambda conn: conn.execute(
            "SELECT id::text AS id, market_id, status, outcome_count, seed_hash, server_seed,"
            " salt, outcome, refund_reason FROM rounds WHERE status IN ('settled', 'refunded')"
            " ORDER BY resolved_at DESC LIMIT %s", (limit,)).fetchall())
        return [dict(row) for row in rows]

    def resolve(self, rid: uuid.UUID, judge: Judge, now: datetime) -> ResolvedRound | None:
        """The round's settlement or refund, written in one transaction; None if not due.

        FOR UPDATE waits for bets in flight (they hold KEY SHARE) and makes a second keeper
        wait, then find the round final and do nothing.
        """
        def work(conn: psycopg.Connection) -> ResolvedRound | None:
            round_ = lock_round(conn, rid, "UPDATE")
            if round_.status.final:
                return None
            seed = conn.execute("SELECT server_seed FROM round_seeds WHERE round_id = %s",
                                (rid,)).fetchone()["server_seed"]
            resolution = judge(round_, pools_of(conn, rid), seed)
            if resolution is None:
                return None
            return _write(conn, round_, resolution, seed, now)
        return self.db.run(work)


def _write(conn: psycopg.Connection, round_: Round, resolution: Resolution, seed: str,
           now: datetime) -> ResolvedRound:
    verdict = resolution.verdict
    if verdict.refunded:
        refunded, paid, commission = write_refunds(conn, round_.id), 0, 0
        status = RoundStatus.REFUNDED
    else:
        refunded, (paid, commission) = 0, write_settlement(conn, round_.id, verdict)
        status = RoundStatus.SETTLED
    conn.execute(
        "UPDATE rounds SET status = %(status)s, server_seed = %(seed)s, salt = %(salt)s,"
        " outcome = %(outcome)s, refund_reason = %(reason)s, total_staked = %(total)s,"
        " winning_stake = %(w)s, commission = %(c)s, dust = %(dust)s, paid_out = %(paid)s,"
        " refunded = %(refunded)s, resolved_at = %(now)s WHERE id = %(id)s",
        {"status": status, "seed": seed, "salt": resolution.salt, "outcome": resolution.outcome,
         "reason": verdict.refund_reason, "total": verdict.total, "w": verdict.winning_stake,
         "c": verdict.commission, "dust": commission - verdict.commission, "paid": paid,
         "refunded": refunded, "now": now, "id": round_.id},
    )
    resolved = ResolvedRound(round_.id, status, resolution.outcome, verdict.total, paid, refunded,
                             commission)
    outbox.announce_resolution(conn, round_, resolved, now)
    return resolved
