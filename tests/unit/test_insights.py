import math

from ember.domain.insights import insights, record

EDU = {"expected_value": -5, "win_probability": 0.5, "payout_if_wins": 190, "commission": 5}


def test_insights_sum_resolved_bets_and_band_the_expectation():
    records = [record(100, 190, EDU, "settled"), record(100, 0, EDU, "settled"),
               record(100, 100, EDU, "refunded"), record(100, None, EDU, "open")]
    result = insights(records)
    assert (result.bets, result.wagered, result.net_result) == (4, 400, -10)
    assert result.expected_net == -15  # the refunded bet was never at risk
    sigma = math.sqrt(3 * 0.25 * 190 ** 2)
    assert result.expected_band == (math.floor(-15 - 2 * sigma), math.ceil(-15 + 2 * sigma))
    assert result.commission_paid == 10  # refunded and open bets paid none
    assert result.tokens_burned is None


def test_no_bets_no_insights():
    result = insights([])
    assert (result.bets, result.wagered, result.expected_band) == (0, 0, (0, 0))
