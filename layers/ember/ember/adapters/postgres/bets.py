"""Bets in PostgreSQL: one transaction per bet, touching only the player's rows plus inserts."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from aws_lambda_powertools import Logger
from psycopg import errors
from psycopg.types.json import Jsonb

from ember.domain import ledger as accounts
from ember.domain.errors import IdempotencyConflict, InsufficientFunds, RoundClosed
from ember.domain.money import CURRENCY
from ember.domain.protection import Exposure, Limit, SelfExcluded
from ember.domain.rounds import Round

from . import protection
from .database import Database
from .rounds import ROUND_COLUMNS, lock_round, round_or_not_found

logger = Logger(service="ember", child=True)


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

# What a decision reads besides the round and the balance: a replay of this key, a
# self-exclusion in force, whether any limit is set, and the round's live pools for the quote.
_PLAYER_FACTS = f"""
       (SELECT jsonb_object_agg(outcome, staked)
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

# The optimistic path's one read, without locks: the round, the balance and the facts.
_UNLOCKED_CONTEXT = f"""
SELECT {ROUND_COLUMNS},
       (SELECT balance FROM accounts WHERE id = %(account)s) AS balance,
       {_PLAYER_FACTS}
  FROM rounds WHERE id = %(round_id)s
"""

# The locked path: the player's row lock serialises that player's bets. It is taken by a
# statement of its own: a statement that waited for a lock still reads with the snapshot it
# started with, so only a statement issued after the lock sees what the previous holder
# committed.
_LOCK_PLAYER = "SELECT balance FROM accounts WHERE id = %(account)s FOR UPDATE"
_LOCKED_FACTS = f"SELECT {_PLAYER_FACTS}"

# The bet, its hold transfer and its pool shard, if the facts still hold (0010_hold_bet.sql).
_HOLD_BET = """
SELECT held, balance_after FROM hold_bet(
    %(id)s, %(round_id)s, %(player)s, %(account)s, %(pool)s, %(currency)s, %(outcome)s,
    %(amount)s, %(key)s, %(digest)s, %(now)s, %(education)s, %(limits_checked)s)
"""

# What hold_bet's refusal means on the locked path, where the locks were held while
# deciding: only a self-exclusion that began meanwhile is expected; the rest are guards.
_REFUSED_UNDER_LOCK: dict[str, Callable[[], Exception]] = {
    "protection_set": lambda: SelfExcluded("self-exclusion began while this bet was taken"),
    "balance_short": lambda: InsufficientFunds("balance too low for this bet"),
    "round_final": lambda: RoundClosed("the round was resolved"),
    "key_used": lambda: IdempotencyConflict(
        "a concurrent request with this key is in flight; retry"),
}


@dataclass(frozen=True)
class _Request:
    bet_id: uuid.UUID  # the bet's and its hold transfer's, the same on either path
    round_id: uuid.UUID
    player_id: str
    outcome: object
    key: str
    digest: str  # of the parameters: tells a replay from a key reused with others
    now: datetime

    @property
    def account(self) -> str:
        return accounts.player_account(self.player_id)

    def params(self) -> dict[str, object]:
        return {"round_id": self.round_id, "player": self.player_id, "key": self.key,
                "now": self.now, "account": self.account}


class PostgresBets:
    def __init__(self, db: Database) -> None:
        self.db = db

    def hold(self, round_id: uuid.UUID, player_id: str, outcome: object, amount: object,
             idempotency_key: str, decide: Decide, now: datetime) -> HeldBet:
        """The bet, its stake moved from the player to the round's pool, in one transaction.

        A key seen before returns the first bet and the response it got; the same key with
        other parameters is an IdempotencyConflict. Decided on an unlocked read and written
        by one statement that checks the facts still hold; when one changed (a concurrent
        bet of the same player, a limit set), decided again under the locks.
        """
        request = _Request(uuid.uuid4(), round_id, player_id, outcome, idempotency_key,
                           request_hash(round_id, outcome, amount), now)
        held = self.db.run_autocommit(lambda conn: self._hold_optimistic(conn, request, decide))
        if held is not None:
            return held
        return self.db.run(lambda conn: self._hold_locked(conn, request, decide))

    def _hold_optimistic(self, conn: psycopg.Connection, request: _Request,
                         decide: Decide) -> HeldBet | None:
        """The bet, or None when the locked path must decide (a limit to check, a fact changed)."""
        state = conn.execute(_UNLOCKED_CONTEXT, request.params()).fetchone()
        round_ = round_or_not_found(state, request.round_id)
        if state["replay"] is not None:
            return _replayed(state["replay"], request.digest, request.key)
        if state["has_limits"]:  # the limits need the exposure, read under the player's lock
            return None
        decision = decide(_context(round_, state["balance"] or 0, state, [], NO_EXPOSURE))
        held = _write(conn, request, decision, limits_checked=False)
        if isinstance(held, str):
            logger.debug("bet_decided_again", extra={"changed": held})
            return None
        return held

    def _hold_locked(self, conn: psycopg.Connection, request: _Request,
                     decide: Decide) -> HeldBet:
        # KEY SHARE: bets of a round don't block each other, but resolution (FOR UPDATE)
        # waits for bets in flight, and a bet queued behind it sees the round final.
        round_ = lock_round(conn, request.round_id, "KEY SHARE")
        locked = conn.execute(_LOCK_PLAYER, request.params()).fetchone()
        balance = locked["balance"] if locked else 0  # never deposited: nothing to bet with
        state = conn.execute(_LOCKED_FACTS, request.params()).fetchone()
        if state["replay"] is not None:
            return _replayed(state["replay"], request.digest, request.key)
        has_limits, player, now = state["has_limits"], request.player_id, request.now
        decision = decide(_context(
            round_, balance, state, protection.limits(conn, player) if has_limits else [],
            protection.exposure(conn, player, now) if has_limits else NO_EXPOSURE))
        held = _write(conn, request, decision, limits_checked=True)
        if isinstance(held, str):
            raise _REFUSED_UNDER_LOCK[held]()
        return held

    def of_player(self, player_id: str, limit: int = 50) -> list[dict]:
        return self.db.run(lambda conn: conn.execute(
            "SELECT * FROM bet_results WHERE player_id = %s ORDER BY placed_at DESC LIMIT %s",
            (player_id, limit)).fetchall())


def _context(round_: Round, balance: int, state: dict[str, Any], limits: list[Limit],
             exposure: Exposure) -> BetContext:
    pools = {int(k): v for k, v in (state["pools"] or {}).items()}
    return BetContext(round_, pools, balance, limits, exposure, state["excluded_until"])


def _write(conn: psycopg.Connection, request: _Request, decision: BetDecision, *,
           limits_checked: bool) -> HeldBet | str:
    """The bet hold_bet wrote, or the name of the fact that no longer holds."""
    try:
        row = conn.execute(_HOLD_BET, {
            **request.params(), "id": request.bet_id, "outcome": request.outcome,
            "amount": decision.amount, "digest": request.digest,
            "education": Jsonb(decision.education), "pool": accounts.round_pool(request.round_id),
            "currency": CURRENCY, "limits_checked": limits_checked}).fetchone()
    except errors.CheckViolation:  # the balance CHECK: the last word on an overdraft
        raise InsufficientFunds("balance too low for this bet") from None
    if row["held"] != "held":
        return str(row["held"])
    assert isinstance(request.outcome, int)  # the decision refused anything else
    bet = Bet(id=request.bet_id, round_id=request.round_id, player_id=request.player_id,
              outcome=request.outcome, amount=decision.amount, idempotency_key=request.key,
              placed_at=request.now)
    return HeldBet(bet, row["balance_after"], decision.education, False)


def _replayed(stored: dict[str, Any], digest: str, key: str) -> HeldBet:
    """The first response to this key; IdempotencyConflict if it came with other parameters."""
    if stored["request_hash"] != digest:
        raise IdempotencyConflict("idempotency key already used with other parameters", key=key)
    bet = Bet(id=uuid.UUID(stored["id"]), round_id=uuid.UUID(stored["round_id"]),
              player_id=stored["player_id"], outcome=stored["outcome"], amount=stored["amount"],
              idempotency_key=stored["idempotency_key"],
              placed_at=datetime.fromisoformat(stored["placed_at"]).astimezone(UTC))
    return HeldBet(bet, stored["balance_after"], stored["education"], True)
