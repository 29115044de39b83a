from ember.domain.odds import multipliers, quote


def test_quote_includes_the_bet_in_the_pools():
    q = quote({0: 300, 1: 100}, 1, 100, 300, 2)
    # T = 500, C = 15, on outcome 200 → payout 100 * 485 // 200
    assert q.payout_if_wins == 242
    assert q.multiplier == 2.42
    assert q.implied_probability == 0.4
    assert q.break_even_probability == round(100 / 242, 6)
    assert q.expected_value == round(0.5 * 242 - 100)
    assert q.commission == 3


def test_first_bet_alone_would_get_its_stake_back_less_commission():
    q = quote({}, 0, 1000, 500, 2)
    assert q.payout_if_wins == 950 and q.expected_value == -525


def test_multipliers_per_outcome():
    assert multipliers({0: 100, 1: 300}, 0, 3) == [4.0, round(4 / 3, 6), None]
