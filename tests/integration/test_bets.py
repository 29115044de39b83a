"""Placing bets: validation, idempotency, and that a refused bet writes nothing."""

import uuid
from datetime import timedelta

import pytest

from ember.domain import errors
from ember.services.place_bet import PlaceBet, place_bet
from tests.support import fund, market, open_round


def bet(app, player, rid, outcome=0, amount=100, key=None):
    return place_bet(PlaceBet(player, rid, outcome, amount, key or str(uuid.uuid4())),
                     bets=app.bets, clock=app.clock)


def counts(sql):
    return sql.execute("SELECT (SELECT count(*) FROM bets) AS bets,"
                       " (SELECT count(*) FROM transfers) AS transfers").fetchone()


def test_a_bet_moves_the_stake_and_returns_the_education_block(ember):
    rid = open_round(ember, market(min_bet=10, max_bet=1000))
    fund(ember, "alice", 1000)
    placed = bet(ember, "alice", rid, outcome=1, amount=100)
    assert placed.balance == 900 and not placed.replayed
    assert placed.education["payout_if_wins"] == 97  # alone in the pool: stake less 3%
    assert ember.rounds.pools(rid) == {1: 100}


def test_same_key_same_parameters_returns_the_first_bet(ember, sql):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    first = bet(ember, "alice", rid, key="k1")
    second = bet(ember, "alice", rid, key="k1")
    assert second.replayed and second.bet == first.bet and second.balance == 900
    assert second.education == first.education
    assert counts(sql)["bets"] == 1


def test_same_key_other_parameters_is_a_conflict(ember, sql):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    bet(ember, "alice", rid, amount=100, key="k1")
    with pytest.raises(errors.IdempotencyConflict):
        bet(ember, "alice", rid, amount=200, key="k1")
    assert counts(sql)["bets"] == 1 and ember.ledger.balance("alice") == 900


def test_the_same_key_is_independent_between_players(ember):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    fund(ember, "bob", 1000)
    assert bet(ember, "alice", rid, key="k1").bet != bet(ember, "bob", rid, key="k1").bet


@pytest.mark.parametrize(("case", "error"), [
    ("unknown_round", errors.RoundNotFound),
    ("unknown_outcome", errors.UnknownOutcome),
    ("zero", errors.InvalidAmount),
    ("negative", errors.InvalidAmount),
    ("fractional", errors.InvalidAmount),
    ("over_max", errors.AmountOutOfRange),
    ("under_min", errors.AmountOutOfRange),
    ("after_lock", errors.RoundClosed),
    ("balance_too_low", errors.InsufficientFunds),
    ("no_account", errors.InsufficientFunds),
    ("empty_key", errors.InvalidRequest),
])
def test_bad_bets_get_a_typed_error_and_write_nothing(ember, sql, clock, case, error):
    rid = open_round(ember, market(min_bet=10, max_bet=1000))
    fund(ember, "alice", 500)
    before = counts(sql)
    player, outcome, amount, key = "alice", 0, 100, str(uuid.uuid4())
    if case == "unknown_round":
        rid = uuid.uuid4()
    elif case == "unknown_outcome":
        outcome = 2
    elif case in ("zero", "negative", "fractional", "over_max", "under_min"):
        amount = {"zero": 0, "negative": -10, "fractional": 10.5, "over_max": 1001,
                  "under_min": 9}[case]
    elif case == "after_lock":
        clock.advance(45)
    elif case == "balance_too_low":
        amount = 501
    elif case == "no_account":
        player = "nobody"
    elif case == "empty_key":
        key = ""
    with pytest.raises(error) as caught:
        place_bet(PlaceBet(player, rid, outcome, amount, key), bets=ember.bets, clock=clock)
    assert caught.value.code == error.code
    assert counts(sql) == before
    assert ember.ledger.balance("alice") == 500


def test_a_round_takes_bets_until_just_before_lock(ember, clock):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    clock.advance(45 - 0.001)
    assert bet(ember, "alice", rid).bet.round_id == rid
    clock.advance(0.001)
    with pytest.raises(errors.RoundClosed):
        bet(ember, "alice", rid)


def test_a_scheduled_round_refuses_bets_before_open(ember, clock):
    rid = open_round(ember, market(), open_at=clock.now() + timedelta(seconds=60))
    fund(ember, "alice", 1000)
    with pytest.raises(errors.RoundNotOpen):
        bet(ember, "alice", rid)
