"""The CEX route through ccxt: quote, market-buy by quote amount, withdraw, all idempotent.

Amounts cross this boundary as integers (stable in minor units, tokens in wei) and become
Decimal strings only for the exchange. What we receive is floored, what we spend is ceiled.
Prices and quantities are read from the exchange's raw strings (`info`), never from
ccxt's unified floats.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import ccxt

from .ccxt_errors import translated
from .errors import ExchangeUnavailable, OrderRejected, WithdrawalRejected
from .units import ceil_to_step, ceil_units, floor_to_step, floor_units, to_decimal

# Binance withdraw-history statuses.
WITHDRAWN, WITHDRAWAL_FAILED = "6", {"1", "3", "5"}
FINAL_STATUSES = {"FILLED", "EXPIRED", "CANCELED", "REJECTED", "EXPIRED_IN_MATCH"}


def binance_exchange(api_key: str, secret: str, *, base_url: str | None = None,
                     timeout_ms: int = 10_000) -> ccxt.binance:
    """A ccxt binance client for spot only; `base_url` points it at another host (a stand-in)."""
    exchange = ccxt.binance({
        "apiKey": api_key, "secret": secret, "timeout": timeout_ms, "enableRateLimit": True,
        # Spot only: no futures exchangeInfo calls, no margin pair lists at load_markets.
        "options": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}, "fetchMargins": False},
    })
    if base_url is not None:
        base = base_url.rstrip("/")
        # Replace the whole map: an endpoint we did not point at the stand-in fails loudly
        # ("does not have a testnet/sandbox URL") instead of reaching the real exchange.
        exchange.urls["api"] = {
            "public": f"{base}/api/v3", "private": f"{base}/api/v3", "v1": f"{base}/api/v1",
            "sapi": f"{base}/sapi/v1", "sapiV2": f"{base}/sapi/v2", "sapiV3": f"{base}/sapi/v3",
            "sapiV4": f"{base}/sapi/v4",
        }
    return exchange


@dataclass(frozen=True)
class BuyQuote:
    """What a market buy of `quote_spent` would bring home, fees included."""

    quote_spent: int        # stable minor units, rounded up
    base_bought: int        # token wei before fees, rounded down
    taker_fee: int          # token wei
    withdrawal_fee: int     # token wei
    base_received: int      # token wei after the taker and the withdrawal fee, rounded down
    average_price: Fraction  # quote per base, before fees
    levels: int             # book levels the buy reaches
    complete: bool          # False: the book ran out before the amount was spent


@dataclass(frozen=True)
class PlacedOrder:
    client_order_id: str
    order_id: str
    status: str  # Binance's: FILLED, EXPIRED, NEW, …


@dataclass(frozen=True)
class Fill:
    """A finished market buy, from the exchange's trades."""

    client_order_id: str
    order_id: str
    status: str
    quote_spent: int     # minor units, rounded up
    base_bought: int     # wei, rounded down
    commission: int      # wei, rounded up
    base_received: int   # wei: bought minus commission


@dataclass(frozen=True)
class Withdrawal:
    withdraw_id: str     # ours (Binance's withdrawOrderId)
    exchange_id: str
    status: str          # Binance's history status code, as text
    amount_sent: int     # what goes on chain, smallest units, rounded down
    fee: int             # smallest units, rounded up
    tx_id: str | None


class CexVenue:
    """One spot market on one exchange, as the buy-back needs it."""

    def __init__(self, exchange: ccxt.Exchange, *, symbol: str, decimals: Mapping[str, int],
                 network: str | None = None, poll_s: float = 0.2,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.exchange, self.symbol, self.decimals = exchange, symbol, dict(decimals)
        self.base, self.quote = symbol.split("/")
        self.network, self.poll_s, self.sleep = network, poll_s, sleep

    def _market(self) -> dict:
        if not self.exchange.markets:
            with translated(ExchangeUnavailable, "load_markets"):
                self.exchange.load_markets()
        return self.exchange.market(self.symbol)

    def _filter(self, kind: str, name: str) -> Decimal:
        filters = {f["filterType"]: f for f in self._market()["info"]["filters"]}
        return Decimal(filters[kind][name])

    def reference_price(self) -> Decimal:
        """The mid of best bid and ask (quote per base), else the last trade; exact."""
        self._market()
        with translated(ExchangeUnavailable, "fetch_ticker"):
            ticker = self.exchange.fetch_ticker(self.symbol)["info"]
        bid, ask = Decimal(ticker.get("bidPrice") or 0), Decimal(ticker.get("askPrice") or 0)
        return (bid + ask) / 2 if bid > 0 and ask > 0 else Decimal(ticker["lastPrice"])

    def reference_ratio(self) -> Fraction:
        """The reference price as the domain counts it: quote minor units per base smallest unit."""
        scale = Fraction(10 ** self.decimals[self.quote], 10 ** self.decimals[self.base])
        return Fraction(self.reference_price()) * scale

    def quote_buy(self, quote_amount: int) -> BuyQuote:
        """Walk the asks for `quote_amount` as the exchange fills a quoteOrderQty buy."""
        market, step = self._market(), self._filter("LOT_SIZE", "stepSize")
        with translated(ExchangeUnavailable, "quote_buy"):
            book = self.exchange.public_get_depth({"symbol": market["id"], "limit": 1000})
            taker = Decimal(self.exchange.fetch_trading_fee(self.symbol)["info"]["takerCommission"])
        remaining = self._order_quote(quote_amount)
        bought = spent = fee = Decimal(0)
        levels, complete = 0, False
        for price_text, qty_text in book["asks"]:
            price = Decimal(price_text)
            qty = min(Decimal(qty_text), floor_to_step(Fraction(remaining) / Fraction(price), step))
            if qty > 0:
                levels += 1
                bought, spent, remaining = bought + qty, spent + qty * price, remaining - qty * price
                fee += ceil_to_step(qty * taker, Decimal("0.00000001"))
            if remaining < price * step:
                complete = True
                break
        return self._priced(bought, spent, fee, levels, complete)

    def _priced(self, bought: Decimal, spent: Decimal, fee: Decimal, levels: int, complete: bool) -> BuyQuote:
        withdrawal_fee, multiple = self._withdrawal_terms(self.base)
        sendable = floor_to_step(bought - fee, multiple)
        received = max(sendable - withdrawal_fee, Decimal(0))
        base_decimals = self.decimals[self.base]
        return BuyQuote(
            quote_spent=ceil_units(spent, self.decimals[self.quote]),
            base_bought=floor_units(bought, base_decimals), taker_fee=ceil_units(fee, base_decimals),
            withdrawal_fee=ceil_units(withdrawal_fee, base_decimals),
            base_received=floor_units(received, base_decimals),
            average_price=Fraction(spent) / Fraction(bought) if bought else Fraction(0),
            levels=levels, complete=complete)

    def _order_quote(self, quote_amount: int) -> Decimal:
        """The quoteOrderQty we send: ccxt truncates it to the price tick, so we do it first."""
        return floor_to_step(to_decimal(quote_amount, self.decimals[self.quote]),
                             self._filter("PRICE_FILTER", "tickSize"))

    def _withdrawal_terms(self, asset: str) -> tuple[Decimal, Decimal]:
        """(fee, multiple) of the asset's withdrawal network, from the exchange's coin list."""
        self._market()
        networks = self.exchange.currencies[asset]["info"]["networkList"]
        chosen = next(n for n in networks
                      if (n["network"] == self.network if self.network else n["isDefault"]))
        return Decimal(chosen["withdrawFee"]), Decimal(chosen["withdrawIntegerMultiple"])

    # -- buying -------------------------------------------------------------------------
    def find_order(self, client_order_id: str) -> PlacedOrder | None:
        self._market()
        try:
            with translated(OrderRejected, "fetch_order"):
                order = self.exchange.fetch_order(None, self.symbol, {"origClientOrderId": client_order_id})
        except OrderRejected as error:
            if error.reason == "order_not_found":
                return None
            raise
        info = order["info"]
        return PlacedOrder(info["clientOrderId"], str(info["orderId"]), info["status"])

    def market_buy(self, quote_amount: int, client_order_id: str) -> PlacedOrder:
        """Buy the base for `quote_amount` minor units, at most once per client order id."""
        if (placed := self.find_order(client_order_id)) is not None:
            return placed
        quote = self._order_quote(quote_amount)
        params = {"quoteOrderQty": str(quote), "newClientOrderId": client_order_id}
        try:
            with translated(OrderRejected, "create_order"):
                info = self.exchange.create_order(self.symbol, "market", "buy", None, None, params)["info"]
        except ExchangeUnavailable:
            # The order may have landed and only the answer got lost: look before anyone retries.
            if (placed := self.find_order(client_order_id)) is not None:
                return placed
            raise
        except OrderRejected as error:
            if error.reason != "duplicate":
                raise
            if (placed := self.find_order(client_order_id)) is not None:
                return placed
            raise ExchangeUnavailable("order placed but not yet visible",
                                      client_order_id=client_order_id) from error
        return PlacedOrder(info["clientOrderId"], str(info["orderId"]), info["status"])

    def wait_filled(self, client_order_id: str, timeout_s: float) -> Fill:
        """The order's fill once it is final (FILLED, or EXPIRED when the book ran out)."""
        deadline = time.monotonic() + timeout_s
        while (placed := self.find_order(client_order_id)) is None or placed.status not in FINAL_STATUSES:
            if time.monotonic() >= deadline:
                raise ExchangeUnavailable("order not final in time", client_order_id=client_order_id)
            self.sleep(self.poll_s)
        with translated(ExchangeUnavailable, "fetch_order_trades"):
            trades = [t["info"] for t in self.exchange.fetch_order_trades(placed.order_id, self.symbol)]
        return self._fill(placed, trades)

    def _fill(self, placed: PlacedOrder, trades: list[dict]) -> Fill:
        base_decimals = self.decimals[self.base]
        bought = sum((Decimal(t["qty"]) for t in trades), Decimal(0))
        spent = sum((Decimal(t["quoteQty"]) for t in trades), Decimal(0))
        if any(t["commissionAsset"] != self.base for t in trades):
            raise OrderRejected("commission charged in another asset", reason="foreign_commission")
        commission = sum((Decimal(t["commission"]) for t in trades), Decimal(0))
        base_bought, fee = floor_units(bought, base_decimals), ceil_units(commission, base_decimals)
        return Fill(placed.client_order_id, placed.order_id, placed.status,
                    quote_spent=ceil_units(spent, self.decimals[self.quote]), base_bought=base_bought,
                    commission=fee, base_received=floor_units(bought - commission, base_decimals))

    # -- withdrawing --------------------------------------------------------------------
    def find_withdrawal(self, withdraw_id: str) -> Withdrawal | None:
        self._market()
        with translated(WithdrawalRejected, "fetch_withdrawals"):
            found = self.exchange.fetch_withdrawals(None, params={"withdrawOrderId": withdraw_id})
        records = [w["info"] for w in found if w["info"].get("withdrawOrderId") == withdraw_id]
        return self._withdrawal(records[0]) if records else None

    def _withdrawal(self, record: dict) -> Withdrawal:
        decimals = self.decimals[record["coin"]]
        return Withdrawal(withdraw_id=record["withdrawOrderId"], exchange_id=record["id"],
                          status=str(record["status"]),
                          amount_sent=floor_units(Decimal(record["amount"]), decimals),
                          fee=ceil_units(Decimal(record["transactionFee"]), decimals),
                          tx_id=record.get("txId") or None)

    def withdraw(self, asset: str, amount: int, address: str, withdraw_id: str) -> Withdrawal:
        """Withdraw `amount` (smallest units, floored to the network's multiple), once per id."""
        if (known := self.find_withdrawal(withdraw_id)) is not None:
            return known
        _, multiple = self._withdrawal_terms(asset)
        value = floor_to_step(to_decimal(amount, self.decimals[asset]), multiple)
        params = {"withdrawOrderId": withdraw_id} | ({"network": self.network} if self.network else {})
        try:
            with translated(WithdrawalRejected, "withdraw"):
                self.exchange.withdraw(asset, str(value), address, params)
        except ExchangeUnavailable:
            if (known := self.find_withdrawal(withdraw_id)) is not None:
                return known
            raise
        known = self.find_withdrawal(withdraw_id)
        if known is None:
            raise ExchangeUnavailable("withdrawal accepted but not yet listed", withdraw_id=withdraw_id)
        return known

    def wait_withdrawn(self, withdraw_id: str, timeout_s: float) -> Withdrawal:
        """The withdrawal once completed on chain (with its tx id); WithdrawalRejected if it failed."""
        deadline = time.monotonic() + timeout_s
        while True:
            known = self.find_withdrawal(withdraw_id)
            if known is None:
                raise WithdrawalRejected("no such withdrawal", reason="unknown_withdrawal",
                                         withdraw_id=withdraw_id)
            if known.status == WITHDRAWN and known.tx_id:
                return known
            if known.status in WITHDRAWAL_FAILED:
                raise WithdrawalRejected("withdrawal failed", reason="failed", withdraw_id=withdraw_id,
                                         exchange_status=known.status)
            if time.monotonic() >= deadline:
                raise ExchangeUnavailable("withdrawal not done in time", withdraw_id=withdraw_id)
            self.sleep(self.poll_s)
