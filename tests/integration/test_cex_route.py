"""The CEX route end to end: the real ccxt binance client against the Binance stand-in,
whose withdrawals send the token on the in-process EVM from an exchange hot wallet."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal as D
from fractions import Fraction

import pytest
from eth_account import Account

from ember.adapters.exchange import CexVenue, binance_exchange
from ember.adapters.exchange.binance_standin import (
    BinanceStandinServer,
    StandinConfig,
    StandinVenue,
    WithdrawRules,
)
from ember.adapters.exchange.cex_route import CexRoute, HotWalletWithdrawals
from ember.adapters.exchange.prices import CexPriceSource, FixedPriceSource
from ember.domain.buyback import ReferencePrice, min_amount_out
from ember.services.buyback_ports import BuyRefused
from tests.integration import buyback_fixtures as fixtures
from tests.integration.contracts.conftest import TOKEN, USD, send

pytestmark = pytest.mark.integration
# The shared fixtures, by name, for pytest to find here.
buyback_deployed, buyback_chain, wired = fixtures.buyback_deployed, fixtures.buyback_chain, fixtures.wired

KEY, SECRET = "k" * 64, "s" * 64
HOT_WALLET_KEY = "0x" + (10).to_bytes(32, "big").hex()  # eth-tester's accounts[9]
HOT_WALLET_TOKENS = 100_000 * TOKEN
SPEND = 100 * USD
# 100 USDT at 0.10 buys 1000 EMBR; the taker fee keeps 1, the withdrawal fee 1 more.
ARRIVING = 998 * TOKEN


@pytest.fixture
def standin(wired) -> Iterator[BinanceStandinServer]:
    hot_wallet = Account.from_key(HOT_WALLET_KEY)
    chain = wired.chain
    send(chain.token.functions.transfer(hot_wallet.address, HOT_WALLET_TOKENS), chain.treasury)
    config = StandinConfig(
        api_key=KEY, api_secret=SECRET, asks=[(D("0.1000"), D("100000"))],
        bids=[(D("0.0990"), D("100000"))], balances={"USDT": D("10000"), "EMBR": D("0")},
        taker_fee=D("0.001"),
        withdrawals={"EMBR": WithdrawRules(fee=D("1"), minimum=D("2"),
                                           whitelist=frozenset({wired.wallet.lower()}))})
    on_withdraw = HotWalletWithdrawals(chain.w3, chain.token.address, hot_wallet)
    with BinanceStandinServer(StandinVenue(config, on_withdraw=on_withdraw)) as server:
        yield server


@pytest.fixture
def venue(standin) -> CexVenue:
    exchange = binance_exchange(KEY, SECRET, base_url=standin.url, timeout_ms=5_000)
    return CexVenue(exchange, symbol="EMBR/USDT", decimals={"EMBR": 18, "USDT": 6}, poll_s=0.02)


@pytest.fixture
def route(venue, wired) -> CexRoute:
    return CexRoute(venue, wired.chain.w3, token=wired.chain.token.address, wallet=wired.wallet,
                    confirmations=0, fill_timeout_s=5, withdraw_timeout_s=10, poll_s=0.02)


def guard(spend: int) -> int:
    return min_amount_out(spend, ReferencePrice(Fraction(100_000, 10**18), "test"), 300)


def test_cex_buy_withdraws_to_the_wallet_and_counts_what_arrived_on_chain(route, wired, standin):
    assert route.quote(SPEND) == ARRIVING
    tokens_before = wired.tokens_of(wired.wallet)
    buyback_id = uuid.uuid4()

    purchase = route.buy(buyback_id, SPEND, guard(SPEND))

    assert purchase.tokens_received == ARRIVING
    assert wired.tokens_of(wired.wallet) - tokens_before == ARRIVING
    assert purchase.client_order_id == str(buyback_id)
    (tx_hash,) = purchase.tx_hashes
    assert wired.chain.w3.eth.get_transaction_receipt(tx_hash)["status"] == 1
    assert standin.venue.balance("USDT") == D("9900")
    assert standin.venue.balance("EMBR") == D("0")


def test_a_retried_cex_buy_with_the_same_id_buys_and_withdraws_once(route, wired, standin):
    buyback_id = uuid.uuid4()
    first = route.buy(buyback_id, SPEND, guard(SPEND))
    tokens_after_first = wired.tokens_of(wired.wallet)

    again = route.buy(buyback_id, SPEND, guard(SPEND))

    assert again == first
    assert len(standin.venue.orders()) == 1 and len(standin.venue.withdrawals()) == 1
    assert wired.tokens_of(wired.wallet) == tokens_after_first
    assert standin.venue.balance("USDT") == D("9900")


def test_a_book_below_the_guard_is_refused_before_any_order(route, standin):
    with pytest.raises(BuyRefused) as refused:
        route.buy(uuid.uuid4(), SPEND, ARRIVING + 1)
    assert refused.value.context["reason"] == "insufficient_output"
    assert standin.venue.orders() == [] and standin.venue.balance("USDT") == D("10000")


def test_an_order_the_exchange_rejects_is_a_refusal(route, standin):
    with pytest.raises(BuyRefused) as refused:
        route.buy(uuid.uuid4(), 4 * USD, 1)  # below the minimum notional
    assert refused.value.context["reason"] == "filter_failure"
    assert standin.venue.orders() == []


def test_price_sources_give_the_cex_mid_or_the_configured_price(venue):
    assert CexPriceSource(venue).reference() == ReferencePrice(Fraction(99_500, 10**18), "binance-mid")
    fixed = FixedPriceSource.parse("1/10000000000000 treasury").reference()
    assert fixed == ReferencePrice(Fraction(1, 10**13), "treasury")
    assert FixedPriceSource.parse("100000/1000000000000000000").reference().source == "configured"
    for bad in ("0", "-1/2", "abc", "1/0"):
        with pytest.raises(ValueError):
            FixedPriceSource.parse(bad)


def wiring(tmp_path, wired, **env: object):
    from ember.adapters.chain.deployment import Contracts, Deployment
    from ember.runtime.chain_wiring import ChainWiring
    from ember.runtime.settings import load_settings

    chain = wired.chain
    contracts = Contracts(weth=chain.weth.address, factory=chain.factory.address,
                          router=chain.router.address, token=chain.token.address,
                          stable=chain.stable.address, dividend_pool=chain.pool.address,
                          pair=chain.pair.address)
    Deployment(chain_id=chain.w3.eth.chain_id, block=1, deployer=chain.treasury, wallet=wired.wallet,
               contracts=contracts, test_stable=True, artifacts={}).save(tmp_path / "deployment.json")
    settings = load_settings(DATABASE_URL="postgresql://postgres@127.0.0.1/none",
                             CHAIN_RPC_URL="http://127.0.0.1:1", EMBER_SALT_SOURCE="local-beacon",
                             EMBER_DEPLOYMENT_FILE=str(tmp_path / "deployment.json"),
                             EMBER_WALLET_PRIVATE_KEY=fixtures.WALLET_KEY, **env)
    return ChainWiring(settings, db=None)  # type: ignore[arg-type]  # nothing here queries it


def test_wiring_fails_at_start_without_an_independent_price(tmp_path, wired):
    from ember.runtime.settings import SettingsError

    with pytest.raises(SettingsError, match="EMBER_REFERENCE_PRICE"):
        wiring(tmp_path, wired)


def test_wiring_uses_the_configured_price_and_no_cex_by_default(tmp_path, wired):
    chain = wiring(tmp_path, wired, EMBER_REFERENCE_PRICE="1/10000000000000 treasury")
    assert chain.price_source.reference() == ReferencePrice(Fraction(1, 10**13), "treasury")
    assert chain.cex_route is None
    assert chain.pool_price is chain.dex_route and chain.routes == [chain.dex_route]
    assert chain.dex_route.token == wired.chain.token.address


def test_wiring_withdraws_only_to_the_technical_wallet(tmp_path, wired, standin):
    from ember.runtime.settings import SettingsError

    cex = {"EMBER_CEX_EXCHANGE": "binance", "EMBER_CEX_API_KEY": KEY, "EMBER_CEX_API_SECRET": SECRET,
           "EMBER_CEX_BASE_URL": standin.url}
    stranger = wiring(tmp_path, wired, EMBER_CEX_WITHDRAW_ADDRESS="0x" + "cd" * 20, **cex)
    with pytest.raises(SettingsError, match="EMBER_CEX_WITHDRAW_ADDRESS"):
        _ = stranger.cex_route
    chain = wiring(tmp_path, wired, EMBER_CEX_WITHDRAW_ADDRESS=wired.wallet.lower(), **cex)
    assert isinstance(chain.cex_route, CexRoute) and chain.cex_route.wallet == wired.wallet
    assert chain.price_source.reference().source == "binance-mid"
    assert [route.kind for route in chain.routes] == ["dex", "cex"]
