"""Bets in PostgreSQL: one transaction per bet, touching only the player's rows plus inserts."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ember.domain import ledger as accounts
from ember.domain.errors import IdempotencyConflict, InsufficientFunds
from ember.domain.ledger import Transfer
from ember.domain.rounds import Round

from .database import Database
from .ledger import player_balance, post
from .rounds import lock_round, pools_of

Accept = Callable[[Round], int]  # the validated amount, or raises the player's error


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
class HeldBet:
    bet: Bet
    round: Round
    balance: int
    pools_before: dict[int, int]  # stakes per outcome without this bet
    replayed: bool


def request_hash(round_id: uuid.UUID, outcome: object, amount: object) -> str:
    """What identifies a bet request's parameters, to tell a replay from a key reused."""
    return hashlib.sha256(f"{round_id}|{outcome!r}|{amount!r}".encode()).hexdigest()


_INSERT_BET = """
INSERT INTO bets (id, round_id, player_id, outcome, amount, idempotency_key, request_hash, placed_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (player_id, idempotency_key) DO NOTHING
RETURNING id, round_id, player_id, outcome, amount, idempotency_key, placed_at
"""


class PostgresBets:
    def __init__(self, db: Database) -> None:
        self.db = db

    def hold(self, round_id: uuid.UUID, player_id: str, outcome: object, amount: object,
             idempotency_key: str, accept: Accept, now: datetime) -> HeldBet:
        """The bet, its stake moved from the player to the round's pool, in one transaction."""
        digest = request_hash(round_id, outcome, amount)
        return self.db.run(lambda conn: self._hold(
            conn, round_id, player_id, outcome, idempotency_key, digest, accept, now))

    def _hold(self, conn: psycopg.Connection, round_id: uuid.UUID, player_id: str,
              outcome: object, key: str, digest: str, accept: Accept, now: datetime) -> HeldBet:
        replay = _replay(conn, player_id, key, digest)
        if replay is not None:
            round_ = lock_round(conn, replay.round_id, "KEY SHARE")
            return HeldBet(replay, round_, player_balance(conn, player_id), {}, True)
        # KEY SHARE: bets of a round don't block each other, but resolution (FOR UPDATE)
        # waits for bets in flight, and a bet queued behind it sees the round final.
        round_ = lock_round(conn, round_id, "KEY SHARE")
        amount = accept(round_)
        pools = pools_of(conn, round_id)
        row = conn.execute(_INSERT_BET, (uuid.uuid4(), round_id, player_id, outcome, amount, key,
                                         digest, now)).fetchone()
        if row is None:  # a concurrent request with this key won the race and committed
            winner = _replay(conn, player_id, key, digest)
            assert winner is not None  # ON CONFLICT saw its committed row
            return HeldBet(winner, round_, player_balance(conn, player_id), {}, True)
        bet = Bet(**row)
        _debit_stake(conn, bet)
        return HeldBet(bet, round_, player_balance(conn, player_id), pools, False)

    def of_player(self, player_id: str, limit: int = 50) -> list[dict]:
        return self.db.run(lambda conn: conn.execute(
            "SELECT * FROM bet_results WHERE player_id = %s ORDER BY placed_at DESC LIMIT %s",
            (player_id, limit)).fetchall())


def _debit_stake(conn: psycopg.Connection, bet: Bet) -> None:
    if player_balance(conn, bet.player_id) < bet.amount:
        # Checked first for a clear error; the CHECK constraint is what guarantees it.
        raise InsufficientFunds("balance too low for this bet", amount=bet.amount)
    post(conn, Transfer(bet.id, accounts.player_account(bet.player_id),
                        accounts.round_pool(bet.round_id), bet.amount, "bet", str(bet.round_id)))


def _replay(conn: psycopg.Connection, player_id: str, key: str, digest: str) -> Bet | None:
    row = conn.execute(
        "SELECT id, round_id, player_id, outcome, amount, idempotency_key, placed_at, request_hash"
        " FROM bets WHERE player_id = %s AND idempotency_key = %s", (player_id, key)).fetchone()
    if row is None:
        return None
    if row.pop("request_hash") != digest:
        raise IdempotencyConflict("idempotency key already used with other parameters", key=key)
    return Bet(**row)
