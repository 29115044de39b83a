"""Buy-back rules as properties: caps hold, every unit is bought in time, the guard is exact."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ember.domain import errors
from ember.domain.buyback import (
    BuybackPolicy,
    BuyLimit,
    BuyPlan,
    BuyTrigger,
    NoBuy,
    NoBuyReason,
    ReferencePrice,
    VenueKind,
    VenueQuote,
    average_price,
    check_pool_price,
    choose_venue,
    min_amount_out,
    plan_buy,
    pool_deviation_bps,
    slippage_bps,
    tokens_at_reference,
)

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
TICK = timedelta(minutes=15)
USDT = 1_000_000
TOKEN = 10**18
ONE_DOLLAR = ReferencePrice.of(USDT, TOKEN, "test-oracle")  # 1 USDT per token


def policy(**changes):
    terms = dict(threshold=100 * USDT, max_delay=timedelta(hours=6), per_buy_cap=5_000 * USDT,
                 daily_cap=20_000 * USDT, tranche_size=1_000 * USDT,
                 tranche_interval=timedelta(minutes=30), max_slippage_bps=100,
                 max_pool_deviation_bps=200)
    return BuybackPolicy(**{**terms, **changes})


@st.composite
def policies(draw):
    tranche_ticks = draw(st.integers(1, 8))
    return BuybackPolicy(
        threshold=draw(st.integers(1, 10**9)),
        max_delay=TICK * draw(st.integers(tranche_ticks, 48)),
        per_buy_cap=draw(st.integers(1, 10**9)),
        daily_cap=draw(st.integers(1, 10**10)),
        tranche_size=draw(st.integers(1, 10**9)),
        tranche_interval=TICK * tranche_ticks,
        max_slippage_bps=draw(st.integers(0, 1000)),
        max_pool_deviation_bps=draw(st.integers(0, 1000)),
    )


prices = st.builds(lambda stable, tokens: ReferencePrice.of(stable, tokens, "test-oracle"),
                   st.integers(1, 10**12), st.integers(1, 10**24))
last_buys = st.none() | st.integers(-10**6, 10**6).map(lambda s: NOW - timedelta(seconds=s))


@given(policies(), st.integers(0, 10**11), last_buys, st.integers(0, 2 * 10**10))
def test_a_plan_never_spends_more_than_the_pool_the_caps_or_what_is_left_today(
        terms, pool, last_buy_at, spent_today):
    plan = plan_buy(pool, last_buy_at, spent_today, NOW, terms)
    if isinstance(plan, BuyPlan):
        bounds = (pool, terms.per_buy_cap, terms.tranche_size, terms.daily_cap - spent_today)
        assert 0 < plan.amount == min(bounds)
    else:
        assert plan.reason in NoBuyReason


@given(policies(), st.integers(1, 10**11), last_buys, st.integers(0, 10**10))
def test_a_plan_buys_exactly_when_due(terms, pool, last_buy_at, spent_today):
    plan = plan_buy(pool, last_buy_at, spent_today, NOW, terms)
    since = None if last_buy_at is None else NOW - last_buy_at
    due = pool >= terms.threshold or since is None or since >= terms.max_delay
    spaced = since is None or since >= terms.tranche_interval
    assert isinstance(plan, BuyPlan) == (due and spaced and spent_today < terms.daily_cap)


@st.composite
def buyback_runs(draw):
    terms = draw(policies())
    per_day = min(terms.daily_cap, 10 * min(terms.per_buy_cap, terms.tranche_size))
    amount = st.integers(0, max(1, 5 * per_day // 6))
    inflows = draw(st.lists(st.tuples(st.integers(0, 200), amount), max_size=5))
    return terms, [(0, draw(amount)), *inflows]


def ticks_to_drain(terms, inflows) -> int:
    """15-minute checks enough to buy every inflow: below the threshold a buy comes at the
    latest one max_delay after the last, each takes a whole tranche or what is left of the
    day's cap (so at most two buys per tranche's worth, plus a day when the cap ran out)."""
    unit = min(terms.per_buy_cap, terms.tranche_size, terms.daily_cap)
    buys = 2 * -(-sum(amount for _, amount in inflows) // unit) + 2
    return 201 + buys * (terms.max_delay // TICK + 96)


@settings(deadline=None)  # a simulation of days of checks: its time is not the property
@given(buyback_runs())
def test_tranches_over_time_buy_everything_within_the_daily_cap(run):
    terms, inflows = run
    pool, last_buy_at, buys = 0, None, []
    spent_per_day: dict = defaultdict(int)
    for tick in range(ticks_to_drain(terms, inflows)):
        now = NOW + tick * TICK
        pool += sum(amount for at, amount in inflows if at == tick)
        plan = plan_buy(pool, last_buy_at, spent_per_day[now.date()], now, terms)
        if isinstance(plan, BuyPlan):
            pool, last_buy_at = pool - plan.amount, now
            spent_per_day[now.date()] += plan.amount
            buys.append((now, plan.amount))
        if pool == 0 and tick > 200:
            break
    assert sum(amount for _, amount in buys) == sum(amount for _, amount in inflows)
    assert all(spent <= terms.daily_cap for spent in spent_per_day.values())
    assert all(amount <= min(terms.per_buy_cap, terms.tranche_size) for _, amount in buys)
    assert all(b[0] - a[0] >= terms.tranche_interval for a, b in pairwise(buys))


def test_a_large_pool_is_bought_in_tranches_spaced_by_the_interval():
    terms = policy(tranche_size=1_000 * USDT, tranche_interval=timedelta(minutes=30))
    first = plan_buy(3_500 * USDT, None, 0, NOW, terms)
    assert first == BuyPlan(1_000 * USDT, BuyTrigger.THRESHOLD, BuyLimit.TRANCHE)
    too_soon = plan_buy(2_500 * USDT, NOW, 1_000 * USDT, NOW + timedelta(minutes=29), terms)
    assert too_soon == NoBuy(NoBuyReason.TRANCHE_WAIT)
    later = plan_buy(500 * USDT, NOW, 3_000 * USDT, NOW + timedelta(minutes=30), terms)
    assert later == BuyPlan(500 * USDT, BuyTrigger.THRESHOLD, BuyLimit.POOL)


def test_an_empty_pool_buys_nothing():
    assert plan_buy(0, None, 0, NOW, policy()) == NoBuy(NoBuyReason.EMPTY)


def test_a_small_pool_waits_for_the_threshold_until_the_delay_has_passed():
    terms = policy(threshold=100 * USDT, max_delay=timedelta(hours=6))
    early = plan_buy(5 * USDT, NOW - timedelta(hours=5), 0, NOW, terms)
    assert early == NoBuy(NoBuyReason.BELOW_THRESHOLD)
    late = plan_buy(5 * USDT, NOW - timedelta(hours=6), 0, NOW, terms)
    assert late == BuyPlan(5 * USDT, BuyTrigger.MAX_DELAY, BuyLimit.POOL)


def test_no_buy_yet_counts_as_the_delay_having_passed():
    assert plan_buy(1, None, 0, NOW, policy()) == BuyPlan(1, BuyTrigger.MAX_DELAY, BuyLimit.POOL)


def test_the_daily_cap_stops_buys_and_trims_the_last_one():
    terms = policy(daily_cap=2_500 * USDT)
    assert plan_buy(10**4 * USDT, None, 2_500 * USDT, NOW, terms) == NoBuy(
        NoBuyReason.DAILY_CAP_REACHED)
    assert plan_buy(10**4 * USDT, None, 3_000 * USDT, NOW, terms) == NoBuy(
        NoBuyReason.DAILY_CAP_REACHED)  # the cap was lowered after the day's buys
    trimmed = plan_buy(10**4 * USDT, None, 2_000 * USDT, NOW, terms)
    assert trimmed == BuyPlan(500 * USDT, BuyTrigger.THRESHOLD, BuyLimit.DAILY_CAP)


def test_the_per_buy_cap_binds_below_the_tranche():
    terms = policy(per_buy_cap=300 * USDT, tranche_size=1_000 * USDT)
    plan = plan_buy(10**4 * USDT, None, 0, NOW, terms)
    assert isinstance(plan, BuyPlan) and plan.limited_by is BuyLimit.PER_BUY_CAP


@pytest.mark.parametrize("pool, spent", [(-1, 0), (1, -1), (1.0, 0), (True, 0)])
def test_negative_or_non_integer_balances_are_refused(pool, spent):
    with pytest.raises(ValueError, match="pool_balance|spent_today"):
        plan_buy(pool, None, spent, NOW, policy())


@pytest.mark.parametrize("field, value", [
    ("threshold", 0), ("per_buy_cap", -5), ("daily_cap", 1.5), ("tranche_size", True),
    ("threshold", 10**16), ("max_delay", timedelta(0)), ("tranche_interval", 60),
    ("max_slippage_bps", 1001), ("max_slippage_bps", -1), ("max_pool_deviation_bps", 5000),
])
def test_a_bad_policy_fails_naming_its_field(field, value):
    with pytest.raises(ValueError, match=field):
        policy(**{field: value})


def test_tranches_may_not_be_spaced_wider_than_the_max_delay():
    with pytest.raises(ValueError, match="tranche_interval must not be longer than max_delay"):
        policy(max_delay=timedelta(minutes=10), tranche_interval=timedelta(minutes=11))


def test_a_policy_lists_every_problem_at_once():
    with pytest.raises(ValueError) as refused:
        policy(threshold=0, daily_cap=0)
    assert "threshold" in str(refused.value) and "daily_cap" in str(refused.value)


def quote(venue, kind, tokens, spend=100 * USDT):
    return VenueQuote(venue, kind, spend, tokens)


def test_the_venue_with_the_most_tokens_after_fees_wins():
    dex, cex = quote("uniswap-v2", VenueKind.DEX, 99 * TOKEN), quote("binance", VenueKind.CEX,
                                                                   100 * TOKEN)
    assert choose_venue([dex, cex]) is cex


def test_a_tie_prefers_the_dex_then_the_venue_name():
    cex = quote("binance", VenueKind.CEX, TOKEN)
    dexes = [quote("uniswap-v2", VenueKind.DEX, TOKEN), quote("sushiswap", VenueKind.DEX, TOKEN)]
    assert choose_venue([cex, *dexes]).venue == "sushiswap"


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(list(VenueKind)),
                          st.integers(0, 5)), min_size=1, max_size=6), st.randoms())
def test_the_chosen_venue_does_not_depend_on_the_order_of_the_quotes(raw, rnd):
    quotes = [quote(venue, kind, tokens) for venue, kind, tokens in raw]
    if max(q.tokens_out for q in quotes) == 0:
        return
    shuffled = rnd.sample(quotes, len(quotes))
    chosen = choose_venue(quotes)
    assert chosen == choose_venue(shuffled)
    assert chosen.tokens_out == max(q.tokens_out for q in quotes)


def test_no_venue_with_any_token_is_a_typed_error():
    with pytest.raises(errors.NoVenueQuote):
        choose_venue([])
    with pytest.raises(errors.NoVenueQuote):
        choose_venue([quote("binance", VenueKind.CEX, 0)])


def test_quotes_for_different_spends_are_not_compared():
    with pytest.raises(ValueError, match="same spend"):
        choose_venue([quote("a", VenueKind.DEX, 1, spend=1), quote("b", VenueKind.CEX, 1, spend=2)])


@given(st.integers(1, 10**15), prices, st.integers(0, 9999), st.integers(0, 9999))
def test_min_amount_out_shrinks_with_slippage_and_never_beats_the_reference(
        spend, reference, bps_a, bps_b):
    low, high = sorted((bps_a, bps_b))
    outs = [out_or_zero(spend, reference, bps) for bps in (0, low, high)]
    assert tokens_at_reference(spend, reference) == outs[0] >= outs[1] >= outs[2]


@given(st.integers(1, 10**15), prices, st.integers(0, 9999))
def test_min_amount_out_is_the_exact_floor_and_never_zero(spend, reference, bps):
    exact = spend / reference.stable_per_token * Fraction(10_000 - bps, 10_000)
    if exact < 1:
        with pytest.raises(errors.BuybackTooSmall):
            min_amount_out(spend, reference, bps)
    else:
        assert min_amount_out(spend, reference, bps) == int(exact) > 0


def out_or_zero(spend, reference, bps):
    try:
        return min_amount_out(spend, reference, bps)
    except errors.BuybackTooSmall:
        return 0


def test_min_amount_out_worked_example():
    # 250 USDT at 0.5 USDT per token with 1% slippage: at least 495 tokens.
    half_dollar = ReferencePrice.of(USDT, 2 * TOKEN, "test-oracle")
    assert min_amount_out(250 * USDT, half_dollar, 100) == 495 * TOKEN


def test_a_spend_too_small_for_one_wei_is_refused():
    expensive = ReferencePrice.of(10 * USDT, 1, "test-oracle")  # 10 USDT per wei
    with pytest.raises(errors.BuybackTooSmall):
        min_amount_out(USDT, expensive, 0)


@given(prices, st.integers(0, 9999), st.integers(0, 9999), st.integers(1, 10**6))
def test_pool_deviation_is_judged_the_same_above_and_below_the_reference(
        reference, offset_bps, max_bps, depth):
    verdicts = []
    for sign in (1, -1):
        spot = reference.stable_per_token * (1 + Fraction(sign * offset_bps, 10_000))
        stable, token = spot.numerator * depth, spot.denominator * depth
        assert pool_deviation_bps(stable, token, reference) == sign * offset_bps
        verdicts.append(pool_passes(stable, token, reference, max_bps))
    assert verdicts == [offset_bps <= max_bps] * 2


def pool_passes(stable, token, reference, max_bps):
    try:
        check_pool_price(stable, token, reference, max_bps)
    except errors.PoolPriceDeviates:
        return False
    return True


def test_a_pool_far_from_the_reference_is_refused_either_way():
    assert check_pool_price(1_020_000 * 10**6, 10**6 * TOKEN, ONE_DOLLAR, 200) == 200
    for stable in (1_020_001, 979_999):
        with pytest.raises(errors.PoolPriceDeviates) as refused:
            check_pool_price(stable * 10**6, 10**6 * TOKEN, ONE_DOLLAR, 200)
        assert refused.value.context["source"] == "test-oracle"


def test_an_empty_pool_has_no_price_to_trust():
    with pytest.raises(errors.PoolPriceDeviates, match="no liquidity"):
        check_pool_price(0, TOKEN, ONE_DOLLAR, 200)


def test_slippage_and_average_price_of_a_fill():
    assert slippage_bps(1000 * TOKEN, 990 * TOKEN) == 100
    assert slippage_bps(1000 * TOKEN, 1001 * TOKEN) == -10
    assert slippage_bps(3, 2) == Fraction(10_000, 3)
    assert average_price(250 * USDT, 500 * TOKEN) == Fraction(USDT, 2 * TOKEN)


@pytest.mark.parametrize("call", [
    lambda: slippage_bps(0, 1), lambda: average_price(1, 0), lambda: min_amount_out(0, ONE_DOLLAR, 0),
    lambda: min_amount_out(1, ONE_DOLLAR, 10_000), lambda: ReferencePrice(Fraction(0), "x"),
    lambda: ReferencePrice(Fraction(1), ""), lambda: ReferencePrice(0.5, "x"),  # type: ignore[arg-type]
])
def test_meaningless_inputs_are_refused(call):
    with pytest.raises(ValueError):
        call()


def test_buyback_errors_have_stable_codes_and_are_listed():
    expected = {errors.BuybacksHalted: "buybacks_halted",
                errors.PoolPriceDeviates: "pool_price_deviates",
                errors.BuybackTooSmall: "buyback_too_small", errors.NoVenueQuote: "no_venue_quote"}
    for error, code in expected.items():
        assert error.code == code and issubclass(error, errors.EmberError)
        assert error in errors.ALL_ERRORS
    halted = errors.BuybacksHalted("kill switch on", by="operator")
    assert halted.detail == "kill switch on" and halted.status == 503
