"""Use case: a player bets on an outcome of an open round."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ember.adapters.postgres.bets import Bet
from ember.domain import odds
from ember.domain.clock import Clock
from ember.domain.errors import InvalidRequest

from .ports import Bets

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class PlaceBet:
    player_id: str
    round_id: uuid.UUID
    outcome: object  # validated by the round: the request may carry anything
    amount: object
    idempotency_key: str


@dataclass(frozen=True)
class BetPlaced:
    bet: Bet
    balance: int
    replayed: bool
    education: odds.Quote | None  # None on a replay: the pools have moved since


def place_bet(cmd: PlaceBet, *, bets: Bets, clock: Clock) -> BetPlaced:
    """The accepted bet with its education block; a replayed key returns the first bet."""
    if not cmd.idempotency_key or len(cmd.idempotency_key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"idempotency key must be 1-{MAX_KEY_LENGTH} characters")
    now = clock.now()
    held = bets.hold(cmd.round_id, cmd.player_id, cmd.outcome, cmd.amount, cmd.idempotency_key,
                     accept=lambda round_: round_.check_bet(cmd.outcome, cmd.amount, now), now=now)
    if held.replayed:
        return BetPlaced(held.bet, held.balance, True, None)
    quote = odds.quote(held.pools_before, held.bet.outcome, held.bet.amount,
                       held.round.commission_bps, held.round.outcome_count)
    return BetPlaced(held.bet, held.balance, False, quote)
