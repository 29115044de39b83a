"""Use case: a player bets on an outcome of an open round."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ember.adapters.postgres.bets import Bet, BetContext, BetDecision
from ember.domain import odds, protection
from ember.domain.clock import Clock
from ember.domain.errors import InsufficientFunds, InvalidRequest

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
    education: dict[str, Any]  # as shown when the bet was taken, replays included


def place_bet(cmd: PlaceBet, *, bets: Bets, clock: Clock) -> BetPlaced:
    """The accepted bet with its education block; a replayed key returns the first bet."""
    if not cmd.idempotency_key or len(cmd.idempotency_key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"idempotency key must be 1-{MAX_KEY_LENGTH} characters")
    now = clock.now()
    held = bets.hold(cmd.round_id, cmd.player_id, cmd.outcome, cmd.amount, cmd.idempotency_key,
                     decide=lambda context: decide_bet(cmd, context, now), now=now)
    return BetPlaced(held.bet, held.balance, held.replayed, held.education)


def decide_bet(cmd: PlaceBet, context: BetContext, now: datetime) -> BetDecision:
    """The amount to take and what to tell the player; raises the error they should see."""
    round_ = context.round
    amount = round_.check_bet(cmd.outcome, cmd.amount, now)
    protection.check_bet(amount, context.limits, context.exposure, context.excluded_until, now)
    if context.balance < amount:
        raise InsufficientFunds("balance too low for this bet", balance=context.balance)
    assert isinstance(cmd.outcome, int)  # check_bet refused anything else
    quote = odds.quote(context.pools, cmd.outcome, amount, round_.commission_bps,
                       round_.outcome_count)
    return BetDecision(amount, asdict(quote))
