import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ember.domain import errors
from ember.domain.markets import Market
from ember.domain.rounds import Round, RoundStatus, round_id, round_times, upcoming_opens

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def make_market(**overrides):
    fields = dict(id="flip", title="Flip", outcomes=("h", "t"), interval_s=60, bet_window_s=45,
                  commission_bps=300, min_bet=10, max_bet=1000)
    return Market(**{**fields, **overrides})


def make_round(status=RoundStatus.OPEN):
    m = make_market()
    return Round(uuid.uuid4(), m.id, status, round_times(m, T0), 2, 300, 10, 1000, "h" * 64)


@pytest.mark.parametrize("overrides", [
    {"commission_bps": 1001}, {"commission_bps": -1}, {"outcomes": ("only",)},
    {"outcomes": ("a", "a")}, {"bet_window_s": 60}, {"min_bet": 0}, {"max_bet": 5},
    {"id": "Bad Id"},
])
def test_invalid_markets_are_refused_with_the_reason(overrides):
    with pytest.raises(errors.InvalidMarket) as caught:
        make_market(**overrides)
    assert caught.value.code == "invalid_market"


def test_round_times_and_ids_are_derived_from_market_and_open_time():
    times = round_times(make_market(), T0)
    assert times.lock_at == T0 + timedelta(seconds=45)
    assert times.close_at == T0 + timedelta(seconds=60)
    assert round_id("flip", T0) == round_id("flip", T0) != round_id("flip", times.close_at)


def test_upcoming_opens_are_aligned_to_the_interval():
    opens = upcoming_opens(make_market(), T0 + timedelta(seconds=70), ahead=2)
    assert opens == [T0 + timedelta(seconds=60 * i) for i in (1, 2, 3)]


@pytest.mark.parametrize(("outcome", "amount", "at", "error"), [
    (0, 10, T0 + timedelta(seconds=45), errors.RoundClosed),
    (0, 10, T0 - timedelta(seconds=1), errors.RoundNotOpen),
    (2, 10, T0, errors.UnknownOutcome),
    (-1, 10, T0, errors.UnknownOutcome),
    ("0", 10, T0, errors.UnknownOutcome),
    (0, 0, T0, errors.InvalidAmount),
    (0, -5, T0, errors.InvalidAmount),
    (0, 10.5, T0, errors.InvalidAmount),
    (0, 10.0, T0, errors.InvalidAmount),
    (0, True, T0, errors.InvalidAmount),
    (0, "10", T0, errors.InvalidAmount),
    (0, 9, T0, errors.AmountOutOfRange),
    (0, 1001, T0, errors.AmountOutOfRange),
])
def test_bad_bets_get_a_typed_error(outcome, amount, at, error):
    with pytest.raises(error):
        make_round().check_bet(outcome, amount, at)


def test_a_settled_round_takes_no_bet_even_before_lock():
    with pytest.raises(errors.RoundClosed):
        make_round(RoundStatus.SETTLED).check_bet(0, 10, T0)


def test_error_codes_are_unique_and_stable():
    codes = [e.code for e in errors.ALL_ERRORS]
    assert len(codes) == len(set(codes))
    assert errors.RoundClosed.code == "round_closed" and errors.RoundClosed.status == 409
