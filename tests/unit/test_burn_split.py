"""Burn split as properties: every wei is burned or paid as dividend, never lost."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ember.domain.burn_split import BurnSplit, split_burn

tokens_strategy = st.integers(0, 10**30)
bps_strategy = st.integers(0, 10_000)


@given(tokens_strategy, bps_strategy)
def test_burn_plus_dividend_equals_tokens(tokens, bps):
    split = split_burn(tokens, bps)
    assert split.burn + split.dividend == split.tokens == tokens
    assert split.burn >= 0 and split.dividend >= 0


@given(tokens_strategy, bps_strategy)
def test_burn_is_the_floor_of_its_share(tokens, bps):
    split = split_burn(tokens, bps)
    assert split.burn * 10_000 <= tokens * bps < (split.burn + 1) * 10_000


@given(tokens_strategy, bps_strategy, bps_strategy)
def test_burn_grows_with_its_share(tokens, bps_a, bps_b):
    low, high = sorted((bps_a, bps_b))
    assert split_burn(tokens, low).burn <= split_burn(tokens, high).burn


@given(tokens_strategy, tokens_strategy, bps_strategy)
def test_burn_grows_with_the_tokens(tokens_a, tokens_b, bps):
    low, high = sorted((tokens_a, tokens_b))
    assert split_burn(low, bps).burn <= split_burn(high, bps).burn


def test_worked_example_gives_the_rounding_wei_to_stakers():
    assert split_burn(1001, 5000) == BurnSplit(burn=500, dividend=501)
    assert split_burn(10**18, 8000) == BurnSplit(burn=8 * 10**17, dividend=2 * 10**17)


def test_all_or_nothing_shares():
    assert split_burn(7, 10_000) == BurnSplit(burn=7, dividend=0)
    assert split_burn(7, 0) == BurnSplit(burn=0, dividend=7)
    assert split_burn(0, 5000) == BurnSplit(burn=0, dividend=0)


@pytest.mark.parametrize("bps", [-1, 10_001, True, 50.0, "5000"])
def test_a_share_outside_0_to_10000_bps_is_refused(bps):
    with pytest.raises(ValueError, match="burn_share_bps"):
        split_burn(100, bps)


@pytest.mark.parametrize("tokens", [-1, 1.5, False, "100"])
def test_tokens_must_be_a_non_negative_integer(tokens):
    with pytest.raises(ValueError, match="tokens"):
        split_burn(tokens, 5000)
