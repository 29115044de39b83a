"""Pari-mutuel rules as properties: every unit accounted for, refunds in full."""

from hypothesis import given
from hypothesis import strategies as st

from ember.domain.settlement import RefundReason, commission_of, decide, settle_bets

bets_strategy = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 10**12)), max_size=60)


def pools_of(bets):
    pools: dict[int, int] = {}
    for outcome, stake in bets:
        pools[outcome] = pools.get(outcome, 0) + stake
    return pools


@given(bets_strategy, st.integers(0, 3), st.integers(0, 1000))
def test_payouts_plus_commission_equal_the_pool(bets, winner, bps):
    verdict = decide(pools_of(bets), winner, bps)
    paid, commission = settle_bets(bets, verdict)
    assert sum(paid) + commission == sum(stake for _, stake in bets)
    assert all(p >= 0 for p in paid)


@given(bets_strategy, st.integers(0, 3), st.integers(0, 1000))
def test_commission_is_floor_of_bps_and_dust_is_small(bets, winner, bps):
    verdict = decide(pools_of(bets), winner, bps)
    paid, commission = settle_bets(bets, verdict)
    if verdict.refunded:
        assert commission == 0 and paid == [s for _, s in bets]
    else:
        winners = sum(1 for o, _ in bets if o == winner)
        assert verdict.commission == commission_of(verdict.total, bps)
        assert 0 <= commission - verdict.commission < max(winners, 1)


@given(bets_strategy, st.integers(0, 3), st.integers(0, 1000))
def test_losers_get_nothing_and_winners_share_pro_rata(bets, winner, bps):
    verdict = decide(pools_of(bets), winner, bps)
    paid, _ = settle_bets(bets, verdict)
    if not verdict.refunded:
        for (outcome, stake), p in zip(bets, paid, strict=True):
            assert p == (stake * verdict.distributable // verdict.winning_stake
                         if outcome == winner else 0)


def test_no_bet_on_the_winner_refunds_everyone():
    verdict = decide({0: 100, 1: 50}, 2, 300)
    assert verdict.refund_reason is RefundReason.NO_WINNING_BET


def test_one_sided_round_is_refunded_even_if_that_side_wins():
    assert decide({1: 500}, 1, 300).refund_reason is RefundReason.ONE_SIDED


def test_tie_and_unresolved_and_empty_rounds_are_refunded():
    assert decide({0: 1, 1: 1}, 0, 300, tie=True).refund_reason is RefundReason.TIE
    assert decide({0: 1, 1: 1}, None, 300).refund_reason is RefundReason.UNRESOLVED
    assert decide({}, 0, 300).refund_reason is RefundReason.NO_BETS


def test_worked_example():
    bets = [(0, 100), (1, 300), (0, 7)]
    verdict = decide(pools_of(bets), 0, 300)
    assert (verdict.total, verdict.commission, verdict.winning_stake) == (407, 12, 107)
    assert settle_bets(bets, verdict) == ([369, 0, 25], 13)
