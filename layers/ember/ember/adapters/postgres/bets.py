"""Bets in PostgreSQL: one transaction per bet, touching only the player's rows plus inserts."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ember.domain import ledger as accounts
from ember.domain.errors import IdempotencyConflict
from ember.domain.ledger import Transfer
from ember.domain.protection import Exposure, Limit
from ember.domain.rounds import Round

from . import protection
from .database import Database
from .ledger import post
from .rounds import lock_round, pools_of


@dataclass(frozen=True)
class Bet:
    id: uuid.UUID
    round_id: uuid.UUID
    player_id: str
    outcome: int
    amount: int
    idempotency_key: str
    placed_at: datetime


@dataclass(frozen=True)
class BetContext:
    """Everything a bet decision needs, read under the round's and the player's locks."""

    round: Round
    pools: dict[int, int]  # stakes per outcome before this bet
    balance: int
    limits: list[Limit]
    exposure: Exposure
    excluded_until: datetime | None


@dataclass(frozen=True)
class BetDecision:
    amount: int
    education: dict[str, Any]  # what the player is told, kept with the bet for replays


@dataclass(frozen=True)
class HeldBet:
    bet: Bet
    balance: int  # the player's balance right after this bet
    education: dict[str, Any]
    replayed: bool


Decide = Callable[[BetContext], BetDecision]  # raises the player's error to refuse


def request_hash(round_id: uuid.UUID, outcome: object, amount: object) -> str:
    """What identifies a bet request's parameters, to tell a replay from a key reused."""
    return hashlib.sha256(f"{round_id}|{outcome!r}|{amount!r}".encode()).hexdigest()


_BET_COLUMNS = "id, round_id, player_id, outcome, amount, idempotency_key, placed_at"
_INSERT_BET = f"""
INSERT INTO bets (id, round_id, player_id, outcome, amount, idempotency_key, request_hash,
                  placed_at, balance_after, education)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (player_id, idempotency_key) DO NOTHING
RETURNING {_BET_COLUMNS}
"""


class PostgresBets:
    def __init__(self, db: Database) -> None:
        self.db = db

    def hold(self, round_id: uuid.UUID, player_id: str, outcome: object, amount: object,
             idempotency_key: str, decide: Decide, now: datetime) -> HeldBet:
        """The bet, its stake moved from the player to the round's pool, in one transaction.

        A key seen before returns the first bet and the response it got; the same key with
        other parameters is an IdempotencyConflict.
        """
        digest = request_hash(round_id, outcome, amount)
        return self.db.run(lambda conn: self._hold(
            conn, round_id, player_id, outcome, idempotency_key, digest, decide, now))

    def _hold(self, conn: psycopg.Connection, round_id: uuid.UUID, player_id: str,
              outcome: object, key: str, digest: str, decide: Decide, now: datetime) -> HeldBet:
        replay = _replay(conn, player_id, key, digest)
        if replay is not None:
            return replay
        # KEY SHARE: bets of a round don't block each other, but resolution (FOR UPDATE)
        # waits for bets in flight, and a bet queued behind it sees the round final.
        round_ = lock_round(conn, round_id, "KEY SHARE")
        # The player's row lock serialises that player's bets: limits and balance are
        # checked against everything committed before, and a racing replay is seen here.
        balance = _lock_player(conn, player_id)
        replay = _replay(conn, player_id, key, digest)
        if replay is not None:
            return replay
        decision = decide(BetContext(
            round_, pools_of(conn, round_id), balance, protection.limits(conn, player_id),
            protection.exposure(conn, player_id, now),
            protection.excluded_until(conn, player_id, now)))
        row = conn.execute(_INSERT_BET, (
            uuid.uuid4(), round_id, player_id, outcome, decision.amount, key, digest, now,
            balance - decision.amount, Jsonb(decision.education))).fetchone()
        bet = Bet(**row)
        post(conn, Transfer(bet.id, accounts.player_account(player_id),
                            accounts.round_pool(round_id), bet.amount, "bet", str(round_id)))
        return HeldBet(bet, balance - bet.amount, decision.education, False)

    def of_player(self, player_id: str, limit: int = 50) -> list[dict]:
        return self.db.run(lambda conn: conn.execute(
            "SELECT * FROM bet_results WHERE player_id = %s ORDER BY placed_at DESC LIMIT %s",
            (player_id, limit)).fetchall())


def _lock_player(conn: psycopg.Connection, player_id: str) -> int:
    row = conn.execute("SELECT balance FROM accounts WHERE id = %s FOR UPDATE",
                       (accounts.player_account(player_id),)).fetchone()
    return row["balance"] if row else 0


def _replay(conn: psycopg.Connection, player_id: str, key: str, digest: str) -> HeldBet | None:
    row = conn.execute(
        f"SELECT {_BET_COLUMNS}, request_hash, balance_after, education FROM bets"
        " WHERE player_id = %s AND idempotency_key = %s", (player_id, key)).fetchone()
    if row is None:
        return None
    if row.pop("request_hash") != digest:
        raise IdempotencyConflict("idempotency key already used with other parameters", key=key)
    balance, education = row.pop("balance_after"), row.pop("education")
    return HeldBet(Bet(**row), balance, education, True)
