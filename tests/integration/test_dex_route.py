"""The DEX route against the real Uniswap V2 contracts on the in-process EVM, with
transaction intents in PostgreSQL: guarded buys, idempotent retries, and a sandwich."""

from __future__ import annotations

import uuid

import pytest

from ember.domain.buyback import check_pool_price, min_amount_out
from ember.domain.errors import PoolPriceDeviates
from ember.services.buyback_ports import BuyRefused
from tests.integration import buyback_fixtures as fixtures
from tests.integration.contracts.conftest import FAR_FUTURE, TOKEN, USD, send

pytestmark = pytest.mark.integration
# The shared fixtures, by name, for pytest to find here.
buyback_deployed, buyback_chain, wired = fixtures.buyback_deployed, fixtures.buyback_chain, fixtures.wired
REFERENCE = fixtures.REFERENCE

SPEND = 1_000 * USD
SLIPPAGE_BPS = 200
DEVIATION_BPS = 300


def swaps_of(wired, sql) -> list[str]:
    return [row["purpose"] for row in sql.execute(
        "SELECT purpose FROM tx_intents WHERE purpose LIKE 'buyback:%:swap'").fetchall()]


def test_quote_and_reserves_read_the_pool_in_stable_token_order(wired):
    stable, token = wired.route.reserves()
    assert (stable, token) == (100_000 * USD, 1_000_000 * TOKEN)
    # getAmountsOut: 0.3% fee, then x*y=k.
    expected = SPEND * 997 * token // (stable * 1000 + SPEND * 997)
    assert wired.route.quote(SPEND) == expected
    assert wired.route.quote(0) == 0


def test_buy_gets_the_tokens_the_swap_transferred_within_the_guard(wired, sql):
    minimum = min_amount_out(SPEND, REFERENCE, SLIPPAGE_BPS)
    quoted = wired.route.quote(SPEND)
    stable_before, tokens_before = wired.stable_of(wired.wallet), wired.tokens_of(wired.wallet)

    purchase = wired.route.buy(uuid.uuid4(), SPEND, minimum)

    assert purchase.tokens_received == quoted >= minimum
    assert wired.tokens_of(wired.wallet) - tokens_before == purchase.tokens_received
    assert stable_before - wired.stable_of(wired.wallet) == SPEND
    assert len(purchase.tx_hashes) == 1 and purchase.client_order_id is None
    # The approval was exactly the spend, and the swap used all of it.
    allowance = wired.chain.stable.functions.allowance(wired.wallet, wired.chain.router.address).call()
    assert allowance == 0
    statuses = {r["purpose"].rsplit(":", 1)[1]: r["status"] for r in sql.execute(
        "SELECT purpose, status FROM tx_intents").fetchall()}
    assert statuses == {"approve": "mined", "swap": "mined"}


def test_a_second_buy_with_the_same_id_returns_the_same_purchase_and_swaps_once(wired, sql):
    buyback_id = uuid.uuid4()
    minimum = min_amount_out(SPEND, REFERENCE, SLIPPAGE_BPS)
    first = wired.route.buy(buyback_id, SPEND, minimum)
    tokens_after_first = wired.tokens_of(wired.wallet)

    again = wired.route.buy(buyback_id, SPEND, minimum)

    assert again == first
    assert wired.tokens_of(wired.wallet) == tokens_after_first
    assert swaps_of(wired, sql) == [f"buyback:{buyback_id}:swap"]
    assert wired.chain.w3.eth.get_transaction_count(wired.wallet) == 2  # approve + swap


def test_an_allowance_that_covers_the_spend_is_not_approved_again(wired, sql):
    send(wired.chain.stable.functions.approve(wired.chain.router.address, SPEND), wired.wallet)
    wired.route.buy(uuid.uuid4(), SPEND, min_amount_out(SPEND, REFERENCE, SLIPPAGE_BPS))
    assert [r["purpose"].rsplit(":", 1)[1] for r in sql.execute(
        "SELECT purpose FROM tx_intents").fetchall()] == ["swap"]


def sandwich_front_run(wired, stable_in: int) -> None:
    """Another account buys the token with `stable_in` just before our buy: the price rises."""
    chain, attacker = wired.chain, wired.chain.stakers[0]
    send(chain.stable.functions.mint(attacker, stable_in), chain.treasury)
    send(chain.stable.functions.approve(chain.router.address, stable_in), attacker)
    send(chain.router.functions.swapExactTokensForTokens(
        stable_in, 1, [chain.stable.address, chain.token.address], attacker, FAR_FUTURE), attacker)


def test_a_sandwich_is_refused_by_the_pool_price_guard_and_else_by_amount_out_min(wired, sql):
    sandwich_front_run(wired, 20_000 * USD)  # the pool's price rises by about 44%
    buyback_id = uuid.uuid4()
    stable_before, tokens_before = wired.stable_of(wired.wallet), wired.tokens_of(wired.wallet)

    with pytest.raises(PoolPriceDeviates):
        check_pool_price(*wired.route.reserves(), REFERENCE, DEVIATION_BPS)

    # Were the check bypassed, the swap itself refuses: amountOutMin comes from the reference.
    with pytest.raises(BuyRefused) as refused:
        wired.route.buy(buyback_id, SPEND, min_amount_out(SPEND, REFERENCE, SLIPPAGE_BPS))
    assert refused.value.context["reason"] == "insufficient_output_amount"
    assert wired.stable_of(wired.wallet) == stable_before
    assert wired.tokens_of(wired.wallet) == tokens_before
    assert swaps_of(wired, sql) == []  # refused before anything was signed


def test_a_swap_past_its_deadline_is_refused(wired):
    wired.route.deadline_s = -1
    with pytest.raises(BuyRefused) as refused:
        wired.route.buy(uuid.uuid4(), SPEND, min_amount_out(SPEND, REFERENCE, SLIPPAGE_BPS))
    assert refused.value.context["reason"] == "expired"


def test_amount_out_min_zero_is_never_sent(wired, sql):
    with pytest.raises(ValueError, match="min_tokens_out"):
        wired.route.buy(uuid.uuid4(), SPEND, 0)
    assert sql.execute("SELECT count(*) AS n FROM tx_intents").fetchone()["n"] == 0
