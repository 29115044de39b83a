"""Bets in PostgreSQL: one transaction per bet, touching only the player's rows plus inserts."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb

from ember.domain import ledger as accounts
from ember.domain.errors import IdempotencyConflict, InsufficientFunds
from ember.domain.money import CURRENCY
from ember.domain.protection import Exposure, Limit
from ember.domain.rounds import Round

from . import protection
from .database import Database
from .rounds import ROUND_FOR_KEY_SHARE, round_or_not_found


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
NO_EXPOSURE = Exposure({}, {}, {})


def request_hash(round_id: uuid.UUID, outcome: object, amount: object) -> str:
    """What identifies a bet request's parameters, to tell a replay from a key reused."""
    return hashlib.sha256(f"{round_id}|{outcome!r}|{amount!r}".encode()).hexdigest()


_BET_COLUMNS = "id, round_id, player_id, outcome, amount, idempotency_key, placed_at"

# The player's row lock serialises that player's bets. It is taken by a statement of its
# own: a statement that waited for a lock still reads with the snapshot it started with, so
# only a statement issued after the lock sees what the previous holder committed.
_LOCK_PLAYER = "SELECT balance FROM accounts WHERE id = %(account)s FOR UPDATE"

# Then everything else, in one round trip: a replay of this key, a self-exclusion in
# force, whether any limit is set, and the round's live pools for the quote.
_PLAYER_STATE = f"""
SELECT (SELECT jsonb_object_agg(outcome, staked)
          FROM (SELECT outcome, sum(staked) AS staked FROM round_pool_shards
                 WHERE round_id = %(round_id)s GROUP BY outcome HAVING sum(staked) > 0) p
       ) AS pools,
       (SELECT to_jsonb(b) FROM (SELECT {_BET_COLUMNS}, request_hash, balance_after, education
                                   FROM bets WHERE player_id = %(player)s
                                    AND idempotency_key = %(key)s) b) AS replay,
       (SELECT max(ends_at) FROM self_exclusions WHERE player_id = %(player)s
           AND starts_at <= %(now)s AND ends_at > %(now)s) AS excluded_until,
       EXISTS (SELECT FROM player_limits WHERE player_id = %(player)s) AS has_limits
"""

# The bet and its hold transfer (same id) in one statement; the transfers trigger moves
# the balance and its CHECK refuses an overdraft.
_INSERT_BET = f"""
WITH bet AS (
    INSERT INTO bets (id, round_id, player_id, outcome, amount, idempotency_key, request_hash,
                      placed_at, balance_after, education)
    VALUES (%(id)s, %(round_id)s, %(player)s, %(outcome)s, %(amount)s, %(key)s, %(digest)s,
            %(now)s, %(balance_after)s, %(education)s)
    ON CONFLICT (player_id, idempotency_key) DO NOTHING
    RETURNING {_BET_COLUMNS}
), hold AS (
    INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind, reference)
    SELECT id, %(account)s, %(pool)s, %(currency)s, amount, 'bet', %(round)s FROM bet
), pooled AS (
    INSERT INTO round_pool_shards AS s (round_id, outcome, shard, staked, bets)
    SELECT round_id, outcome, abs(hashtext(player_id)) %% 16, amount, 1 FROM bet
    ON CONFLICT (round_id, outcome, shard)
    DO UPDATE SET staked = s.staked + EXCLUDED.staked, bets = s.bets + 1
)
SELECT {_BET_COLUMNS} FROM bet
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
        # KEY SHARE: bets of a round don't block each other, but resolution (FOR UPDATE)
        # waits for bets in flight, and a bet queued behind it sees the round final.
        # The state query is its own statement after both locks, so its snapshot sees what
        # the previous holder of the player's lock committed. (Pipelining these three reads
        # was measured: no gain in bench/bet_api, so they stay plain round trips.)
        round_query = conn.execute(ROUND_FOR_KEY_SHARE, (round_id,))
        account = accounts.player_account(player_id)
        lock_query = conn.execute(_LOCK_PLAYER, {"account": account})
        state_query = conn.execute(_PLAYER_STATE, {"player": player_id, "key": key, "now": now,
                                                   "round_id": round_id})
        round_ = round_or_not_found(round_query.fetchone(), round_id)
        locked = lock_query.fetchone()
        balance = locked["balance"] if locked else 0  # never deposited: nothing to bet with
        state = state_query.fetchone()
        if state["replay"] is not None:
            return _replayed(state["replay"], digest, key)
        has_limits = state["has_limits"]
        decision = decide(BetContext(
            round_, {int(k): v for k, v in (state["pools"] or {}).items()}, balance,
            protection.limits(conn, player_id) if has_limits else [],
            protection.exposure(conn, player_id, now) if has_limits else NO_EXPOSURE,
            state["excluded_until"]))
        try:
            row = conn.execute(_INSERT_BET, {
                "id": uuid.uuid4(), "round_id": round_id, "player": player_id, "outcome": outcome,
                "amount": decision.amount, "key": key, "digest": digest, "now": now,
                "balance_after": balance - decision.amount,
                "education": Jsonb(decision.education), "account": account,
                "pool": accounts.round_pool(round_id), "currency": CURRENCY,
                "round": str(round_id)}).fetchone()
        except errors.CheckViolation:
            raise InsufficientFunds("balance too low for this bet") from None
        if row is None:  # unreachable under the player lock; a guard, never a double debit
            raise IdempotencyConflict("a concurrent request with this key is in flight; retry")
        return HeldBet(Bet(**row), balance - decision.amount, decision.education, False)

    def of_player(self, player_id: str, limit: int = 50) -> list[dict]:
        return self.db.run(lambda conn: conn.execute(
            "SELECT * FROM bet_results WHERE player_id = %s ORDER BY placed_at DESC LIMIT %s",
            (player_id, limit)).fetchall())


def _replayed(stored: dict[str, Any], digest: str, key: str) -> HeldBet:
    """The first response to this key; IdempotencyConflict if it came with other parameters."""
    if stored["request_hash"] != digest:
        raise IdempotencyConflict("idempotency key already used with other parameters", key=key)
    bet = Bet(id=uuid.UUID(stored["id"]), round_id=uuid.UUID(stored["round_id"]),
              player_id=stored["player_id"], outcome=stored["outcome"], amount=stored["amount"],
              idempotency_key=stored["idempotency_key"],
              placed_at=datetime.fromisoformat(stored["placed_at"]))
    return HeldBet(bet, stored["balance_after"], stored["education"], True)
