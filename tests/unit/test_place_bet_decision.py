"""The bet decision, with an in-memory context: rules in order, and what the player is told."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ember.adapters.postgres.bets import NO_EXPOSURE, BetContext
from ember.domain import errors
from ember.domain.markets import Market
from ember.domain.protection import Exposure, Limit, LimitExceeded, LimitKind, Period, SelfExcluded
from ember.domain.rounds import Round, RoundStatus, round_times
from ember.services.place_bet import PlaceBet, decide_bet

T0 = datetime(2030, 1, 1, tzinfo=UTC)
MARKET = Market(id="flip", title="Flip", outcomes=("h", "t"), interval_s=60, bet_window_s=45,
                commission_bps=300, min_bet=10, max_bet=1000)
ROUND = Round(uuid.uuid4(), "flip", RoundStatus.OPEN, round_times(MARKET, T0), 2, 300, 10, 1000,
              "00" * 32)


def context(balance=1000, limits=(), exposure=NO_EXPOSURE, excluded_until=None, pools=None):
    return BetContext(ROUND, pools or {}, balance, list(limits), exposure, excluded_until)


def bet(outcome=0, amount=100):
    return PlaceBet("alice", ROUND.id, outcome, amount, "k1")


def test_an_accepted_bet_carries_its_quote():
    decision = decide_bet(bet(1, 100), context(pools={0: 300}), T0)
    assert decision.amount == 100
    assert decision.education["payout_if_wins"] == 100 * (400 - 12) // 100
    assert decision.education["implied_probability"] == 0.25


def test_the_round_is_checked_before_the_player():
    with pytest.raises(errors.RoundClosed):
        decide_bet(bet(), context(balance=0, excluded_until=T0 + timedelta(days=1)),
                   T0 + timedelta(seconds=45))


def test_exclusion_and_limits_come_before_the_balance():
    with pytest.raises(SelfExcluded):
        decide_bet(bet(), context(balance=0, excluded_until=T0 + timedelta(days=1)), T0)
    spent = Exposure({Period.DAY: 950}, {}, {})
    with pytest.raises(LimitExceeded) as refused:
        decide_bet(bet(), context(balance=0, limits=[Limit(LimitKind.LOSS, Period.DAY, 1000)],
                                  exposure=spent), T0)
    assert refused.value.code == "loss_limit_exceeded"


def test_a_balance_too_low_is_refused():
    with pytest.raises(errors.InsufficientFunds):
        decide_bet(bet(amount=100), context(balance=99), T0)
    assert decide_bet(bet(amount=100), context(balance=100), T0).amount == 100
