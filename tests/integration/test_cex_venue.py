"""The CEX route: the real ccxt binance client against a local server that speaks
Binance's spot REST protocol over HTTP (signatures, filters, error codes included)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal as D
from fractions import Fraction
from urllib.parse import urlencode

import pytest

from ember.adapters.exchange import (
    CexVenue,
    ExchangeAuthRejected,
    ExchangeUnavailable,
    OrderRejected,
    WithdrawalRejected,
    binance_exchange,
)
from ember.adapters.exchange.binance_standin import (
    BinanceStandinServer,
    StandinConfig,
    StandinVenue,
    SymbolRules,
    WithdrawRules,
)

pytestmark = pytest.mark.integration

KEY, SECRET = "k" * 64, "s" * 64
WALLET = "0x" + "ab" * 20
STRANGER = "0x" + "cd" * 20
WEI, MICRO = 10**18, 10**6
ASKS = [(D("0.5000"), D("10")), (D("0.6000"), D("20")), (D("0.8000"), D("1000"))]


class Chain:
    """Records the withdrawals the exchange sends on chain; a stand-in's `on_withdraw`."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, D, str]] = []
        self.fail = False
        self.lock = threading.Lock()

    def __call__(self, asset: str, address: str, amount: D, withdrawal_id: str) -> str:
        if self.fail:
            raise RuntimeError("execution reverted")
        with self.lock:
            self.sent.append((asset, address, amount, withdrawal_id))
            return "0x" + f"{len(self.sent):064x}"


def config(**changes: object) -> StandinConfig:
    settings: dict = {
        "api_key": KEY, "api_secret": SECRET, "asks": ASKS, "bids": [(D("0.4900"), D("100"))],
        "balances": {"USDT": D("1000"), "EMBR": D("0")}, "taker_fee": D("0.001"),
        "rules": SymbolRules(tick_size=D("0.0001"), step_size=D("0.01"), min_notional=D("5")),
        "withdrawals": {"EMBR": WithdrawRules(fee=D("1"), minimum=D("2"), whitelist=frozenset({WALLET}))},
    }
    return StandinConfig(**(settings | changes))


@pytest.fixture
def chain() -> Chain:
    return Chain()


@pytest.fixture
def make_server(chain: Chain) -> Iterator:
    servers: list[BinanceStandinServer] = []

    def start(**changes: object) -> BinanceStandinServer:
        server = BinanceStandinServer(StandinVenue(config(**changes), on_withdraw=chain)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server) -> BinanceStandinServer:
    return make_server()


def cex(server: BinanceStandinServer, secret: str = SECRET) -> CexVenue:
    exchange = binance_exchange(KEY, secret, base_url=server.url, timeout_ms=5_000)
    return CexVenue(exchange, symbol="EMBR/USDT", decimals={"EMBR": 18, "USDT": 6}, poll_s=0.02)


def signed(server: BinanceStandinServer, method: str, path: str, params: dict, *,
           key: str | None = KEY, secret: str = SECRET, tamper: bool = False) -> tuple[int, dict]:
    """A raw request to the stand-in, signed as Binance documents it."""
    query = urlencode(params)
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    if tamper:
        query = query.replace("quoteOrderQty=10", "quoteOrderQty=99")
    request = urllib.request.Request(f"{server.url}{path}?{query}&signature={signature}", method=method)
    if key is not None:
        request.add_header("X-MBX-APIKEY", key)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def now_ms() -> int:
    return int(time.time() * 1000)


def test_load_markets_reads_filters_and_withdrawal_network_from_the_stand_in(server):
    exchange = binance_exchange(KEY, SECRET, base_url=server.url)
    markets = exchange.load_markets()
    assert list(markets) == ["EMBR/USDT"]
    assert markets["EMBR/USDT"]["limits"]["cost"]["min"] == 5
    precision = markets["EMBR/USDT"]["precision"]
    assert (precision["amount"], precision["price"]) == (0.01, 0.0001)  # ccxt's floats, from the filters
    network = exchange.currencies["EMBR"]["info"]["networkList"][0]
    assert (network["withdrawFee"], network["network"]) == ("1.00000000", "ETH")
    assert all(url.startswith(server.url) for url in exchange.urls["api"].values())


def test_reference_price_is_the_exact_mid_of_best_bid_and_ask(server):
    venue = cex(server)
    assert venue.reference_price() == D("0.495")
    assert venue.reference_ratio() == Fraction(495_000, 10**18)  # USDT micro-units per EMBR wei


def test_quote_walks_three_levels_and_matches_a_hand_computation(server):
    quote = cex(server).quote_buy(20 * MICRO)
    # 10 @ 0.5 = 5, 20 @ 0.6 = 12, then 3 USDT left buys 3.75 @ 0.8: 33.75 EMBR for 20 USDT.
    bought = D("33.75")
    taker_fee = D("0.00500000") * 2 + D("0.02000000") + D("0.00375000")   # 0.1% of each fill
    assert quote.levels == 3 and quote.complete
    assert quote.quote_spent == 20 * MICRO
    assert quote.base_bought == int(bought * WEI)
    assert quote.taker_fee == int(taker_fee * WEI) == 33_750_000_000_000_000
    assert quote.withdrawal_fee == 1 * WEI
    assert quote.base_received == int((bought - taker_fee - 1) * WEI)
    assert quote.average_price == Fraction(20) / Fraction("33.75")


def test_quote_floors_each_level_to_the_lot_step(server):
    quote = cex(server).quote_buy(5_003_333)  # 5.0033 after ccxt's tick: 10 @ 0.5, then 0.0033 / 0.6 < 0.01
    assert (quote.levels, quote.quote_spent, quote.base_bought) == (1, 5 * MICRO, 10 * WEI)


def test_market_buy_fills_by_quote_amount_and_moves_balances_exactly(server):
    venue = cex(server)
    placed = venue.market_buy(20 * MICRO, "buyback-1")
    fill = venue.wait_filled("buyback-1", timeout_s=5)
    assert placed.status == fill.status == "FILLED"
    assert (fill.quote_spent, fill.base_bought, fill.commission) == (
        20 * MICRO, 33_750_000_000_000_000_000, 33_750_000_000_000_000)
    assert fill.base_received == 33_716_250_000_000_000_000
    assert server.venue.balance("USDT") == D("980")
    assert server.venue.balance("EMBR") == D("33.71625")


def test_a_retried_market_buy_with_the_same_client_order_id_buys_once(server):
    venue = cex(server)
    first = venue.market_buy(20 * MICRO, "buyback-2")
    again = venue.market_buy(20 * MICRO, "buyback-2")
    assert again == first
    assert len(server.venue.orders()) == 1
    assert server.venue.balance("USDT") == D("980")


def test_an_order_whose_answer_was_lost_is_found_not_bought_again(server):
    server.drop_next_order_responses(1)
    venue = cex(server)
    placed = venue.market_buy(20 * MICRO, "buyback-3")  # the exchange filled it; we never heard
    assert placed.status == "FILLED"
    assert venue.market_buy(20 * MICRO, "buyback-3") == placed
    assert len(server.venue.orders()) == 1
    assert server.venue.balance("USDT") == D("980")


def test_a_lost_answer_and_a_lagging_lookup_raise_unavailable_instead_of_buying_twice(make_server):
    server = make_server(order_lookup_lag=1)
    server.drop_next_order_responses(1)
    venue = cex(server)
    with pytest.raises(ExchangeUnavailable):
        venue.market_buy(20 * MICRO, "buyback-4")
    assert len(server.venue.orders()) == 1
    assert venue.market_buy(20 * MICRO, "buyback-4").status == "FILLED"  # the later retry finds it
    assert len(server.venue.orders()) == 1


def test_the_duplicate_order_error_means_already_placed(make_server):
    server = make_server(order_lookup_lag=1, reject_reused_client_order_ids=True)
    venue = cex(server)
    first = venue.market_buy(20 * MICRO, "buyback-5")
    # The lookup misses (lag), the create gets -2010 "Duplicate order sent.", the second lookup finds it.
    assert venue.market_buy(20 * MICRO, "buyback-5") == first
    assert len(server.venue.orders()) == 1


def test_binance_accepts_a_filled_orders_client_id_again_so_the_lookup_comes_first(server):
    params = {"symbol": "EMBRUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "10",
              "newClientOrderId": "raw-1"}
    assert signed(server, "POST", "/api/v3/order", params | {"timestamp": now_ms()})[0] == 200
    assert signed(server, "POST", "/api/v3/order", params | {"timestamp": now_ms()})[0] == 200
    assert len(server.venue.orders()) == 2  # "unique among open orders" only


def test_a_bad_signature_is_rejected_with_binance_codes(server):
    with pytest.raises(ExchangeAuthRejected) as rejected:
        cex(server, secret="wrong" * 13).market_buy(20 * MICRO, "buyback-6")
    assert rejected.value.context["exchange_code"] == -1022
    order = {"symbol": "EMBRUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "10"}
    assert signed(server, "POST", "/api/v3/order", order | {"timestamp": now_ms()}, tamper=True) == (
        400, {"code": -1022, "msg": "Signature for this request is not valid."})
    assert signed(server, "GET", "/api/v3/account", {"timestamp": now_ms()}, key=None)[1]["code"] == -2014
    assert signed(server, "GET", "/api/v3/account", {"timestamp": now_ms()}, key="other")[1]["code"] == -2015
    stale = {"timestamp": now_ms() - 10_000, "recvWindow": 5_000}
    assert signed(server, "GET", "/api/v3/account", stale)[1]["code"] == -1021
    assert signed(server, "GET", "/api/v3/account", {"timestamp": now_ms() + 5_000})[1]["code"] == -1021
    assert server.venue.orders() == []


def test_insufficient_balance_is_a_typed_rejection(server):
    venue = cex(server)
    with pytest.raises(OrderRejected) as rejected:
        venue.market_buy(1001 * MICRO, "buyback-7")
    assert rejected.value.reason == "insufficient_balance"
    with pytest.raises(WithdrawalRejected) as refused:
        venue.withdraw("EMBR", 5 * WEI, WALLET, "withdraw-0")
    assert refused.value.reason == "insufficient_balance"
    assert server.venue.orders() == [] and server.venue.balance("USDT") == D("1000")


def test_an_order_below_the_minimum_notional_is_rejected(server):
    with pytest.raises(OrderRejected) as rejected:
        cex(server).market_buy(4_999_999, "buyback-8")
    assert rejected.value.reason == "filter_failure"


def test_withdrawal_goes_only_to_the_whitelisted_address(server, chain):
    venue = cex(server)
    venue.market_buy(20 * MICRO, "buyback-9")
    with pytest.raises(WithdrawalRejected) as refused:
        venue.withdraw("EMBR", 20 * WEI, STRANGER, "withdraw-1")
    assert refused.value.reason == "not_whitelisted"
    assert chain.sent == [] and server.venue.balance("EMBR") == D("33.71625")


def test_withdrawal_is_idempotent_by_id_and_reaches_the_chain_once(server, chain):
    venue = cex(server)
    venue.market_buy(20 * MICRO, "buyback-10")
    first = venue.withdraw("EMBR", 20 * WEI + 123, WALLET, "withdraw-2")  # floored to 1e-8
    again = venue.withdraw("EMBR", 20 * WEI + 123, WALLET, "withdraw-2")
    done = venue.wait_withdrawn("withdraw-2", timeout_s=5)
    assert again.exchange_id == first.exchange_id == done.exchange_id
    assert (done.amount_sent, done.fee) == (19 * WEI, 1 * WEI)
    assert chain.sent == [("EMBR", WALLET, D("19"), done.exchange_id)]
    assert done.tx_id == "0x" + f"{1:064x}"
    assert server.venue.balance("EMBR") == D("13.71625")


def test_a_withdrawal_the_chain_refuses_is_reported_and_refunded(server, chain):
    chain.fail = True
    venue = cex(server)
    venue.market_buy(20 * MICRO, "buyback-11")
    venue.withdraw("EMBR", 20 * WEI, WALLET, "withdraw-3")
    with pytest.raises(WithdrawalRejected) as failed:
        venue.wait_withdrawn("withdraw-3", timeout_s=5)
    assert failed.value.reason == "failed"
    assert server.venue.balance("EMBR") == D("33.71625")
