"""The stand-in's state: one spot symbol's book, one account, its orders and withdrawals.

It answers in Binance's own shapes and error codes; the HTTP layer (`server.py`) only
parses, authenticates and serialises. Every amount is a Decimal; nothing here is a float.
"""

from __future__ import annotations

import hashlib
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal

# Binance's status codes in GET /sapi/v1/capital/withdraw/history.
PROCESSING, FAILURE, COMPLETED = 4, 5, 6
COMMISSION_PLACES = Decimal("0.00000001")  # baseCommissionPrecision 8

OnWithdraw = Callable[[str, str, Decimal, str], str]
"""(asset, address, amount arriving, Binance withdrawal id) -> the on-chain tx id."""


class BinanceError(Exception):
    """A rejection exactly as Binance words it: {"code": -2010, "msg": "..."}."""

    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg, self.http_status = code, msg, http_status


@dataclass(frozen=True)
class SymbolRules:
    """The symbol's exchangeInfo filters (PRICE_FILTER, LOT_SIZE, NOTIONAL)."""

    tick_size: Decimal = Decimal("0.0001")
    min_price: Decimal = Decimal("0.0001")
    max_price: Decimal = Decimal("100000")
    step_size: Decimal = Decimal("0.01")
    min_qty: Decimal = Decimal("0.01")
    max_qty: Decimal = Decimal("10000000")
    min_notional: Decimal = Decimal("5")
    max_notional: Decimal = Decimal("1000000")


@dataclass(frozen=True)
class WithdrawRules:
    """One coin's withdrawal network as /sapi/v1/capital/config/getall describes it."""

    network: str = "ETH"
    fee: Decimal = Decimal("1")
    minimum: Decimal = Decimal("2")
    multiple: Decimal = Decimal("0.00000001")  # withdrawIntegerMultiple
    whitelist: frozenset[str] = frozenset()


@dataclass
class StandinConfig:
    """What the stand-in exchange holds when it starts; tests pick the numbers."""

    api_key: str
    api_secret: str
    base: str = "EMBR"
    quote: str = "USDT"
    asks: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (price, qty), best first
    bids: list[tuple[Decimal, Decimal]] = field(default_factory=list)
    balances: dict[str, Decimal] = field(default_factory=dict)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    rules: SymbolRules = field(default_factory=SymbolRules)
    withdrawals: dict[str, WithdrawRules] = field(default_factory=dict)
    # Binance: newClientOrderId is "unique among open orders"; a filled order's id may be
    # reused. True rejects every reuse with -2010, as stricter venues do.
    reject_reused_client_order_ids: bool = False
    # GET /api/v3/order answers -2013 for a new order's first N lookups (eventual consistency).
    order_lookup_lag: int = 0

    @property
    def symbol(self) -> str:
        return f"{self.base}{self.quote}"


def _text(value: Decimal) -> str:
    return f"{value:.8f}"


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_DOWN) * step


class StandinVenue:
    """The matching engine and wallet behind the HTTP server; thread-safe."""

    def __init__(self, config: StandinConfig, on_withdraw: OnWithdraw | None = None) -> None:
        self.config = config
        self.on_withdraw = on_withdraw
        self._lock = threading.RLock()
        self._asks = [list(level) for level in config.asks]
        self._balances = dict(config.balances)
        self._orders: list[dict] = []
        self._trades: list[dict] = []
        self._lookups: dict[str, int] = {}
        self._withdrawals: list[dict] = []
        self._ids = itertools.count(1)
        self._queue: queue.Queue[dict | None] = queue.Queue()
        self._worker = threading.Thread(target=self._process_withdrawals, daemon=True,
                                        name="standin-withdrawals")
        self._worker.start()

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=5)

    # -- what tests look at -------------------------------------------------------------
    def balance(self, asset: str) -> Decimal:
        with self._lock:
            return self._balances.get(asset, Decimal(0))

    def orders(self) -> list[dict]:
        with self._lock:
            return [dict(order) for order in self._orders]

    def withdrawals(self) -> list[dict]:
        with self._lock:
            return [dict(w) for w in self._withdrawals]

    # -- market data --------------------------------------------------------------------
    def book(self, limit: int) -> dict:
        with self._lock:
            asks = [[_text(p), _text(q)] for p, q in self._asks if q > 0][:limit]
            bids = [[_text(p), _text(q)] for p, q in self.config.bids][:limit]
        return {"lastUpdateId": len(self._trades) + 1, "bids": bids, "asks": asks}

    def best(self) -> tuple[Decimal, Decimal]:
        """(best bid, best ask)."""
        with self._lock:
            ask = next((p for p, q in self._asks if q > 0), Decimal(0))
        bid = self.config.bids[0][0] if self.config.bids else Decimal(0)
        return bid, ask

    def last_price(self) -> Decimal:
        with self._lock:
            return Decimal(self._trades[-1]["price"]) if self._trades else self.best()[1]

    # -- trading ------------------------------------------------------------------------
    def market_buy(self, quote_qty: Decimal, client_order_id: str) -> dict:
        """Fill a MARKET BUY of `quote_qty` by walking the asks; the FULL response."""
        rules, base, quote = self.config.rules, self.config.base, self.config.quote
        with self._lock:
            self._check_client_order_id(client_order_id)
            if quote_qty < rules.min_notional or quote_qty > rules.max_notional:
                raise BinanceError(-1013, "Filter failure: NOTIONAL")
            if self._balances.get(quote, Decimal(0)) < quote_qty:
                raise BinanceError(-2010, "Account has insufficient balance for requested action.")
            order_id, now = next(self._ids), _now_ms()
            fills, exhausted = self._walk(quote_qty, order_id, now)
            executed = sum((Decimal(f["qty"]) for f in fills), Decimal(0))
            spent = sum((Decimal(f["price"]) * Decimal(f["qty"]) for f in fills), Decimal(0))
            commission = sum((Decimal(f["commission"]) for f in fills), Decimal(0))
            self._balances[quote] -= spent
            self._balances[base] = self._balances.get(base, Decimal(0)) + executed - commission
            order = {
                "symbol": self.config.symbol, "orderId": order_id, "orderListId": -1,
                "clientOrderId": client_order_id, "price": _text(Decimal(0)),
                "origQty": _text(executed), "executedQty": _text(executed),
                "cummulativeQuoteQty": _text(spent), "origQuoteOrderQty": _text(quote_qty),
                "status": "EXPIRED" if exhausted else "FILLED", "timeInForce": "GTC",
                "type": "MARKET", "side": "BUY", "stopPrice": _text(Decimal(0)),
                "icebergQty": _text(Decimal(0)), "time": now, "updateTime": now,
                "isWorking": True, "workingTime": now, "selfTradePreventionMode": "EXPIRE_MAKER",
            }
            self._orders.append(order)
            self._lookups[client_order_id] = self.config.order_lookup_lag
            response = {k: v for k, v in order.items() if k not in ("time", "updateTime", "isWorking",
                                                                   "stopPrice", "icebergQty")}
            response["transactTime"] = now
            response["fills"] = [{k: f[k] for k in ("price", "qty", "commission", "commissionAsset",
                                                    "id")} | {"tradeId": f["id"]} for f in fills]
            return response

    def _check_client_order_id(self, client_order_id: str) -> None:
        for order in self._orders:
            if order["clientOrderId"] != client_order_id:
                continue
            if order["status"] in ("NEW", "PARTIALLY_FILLED") or self.config.reject_reused_client_order_ids:
                raise BinanceError(-2010, "Duplicate order sent.")

    def _walk(self, quote_qty: Decimal, order_id: int, now: int) -> tuple[list[dict], bool]:
        """(fills, whether the book ran out first): asks best first, each level's quantity
        floored to the lot step, until the rest cannot buy one step."""
        step, fee = self.config.rules.step_size, self.config.taker_fee
        fills: list[dict] = []
        remaining = quote_qty
        for level in self._asks:
            price, available = level
            qty = min(available, _floor(remaining / price, step))
            if qty <= 0:
                if available > 0:
                    return fills, False  # the rest cannot buy one step here: done
                continue
            level[1] -= qty
            remaining -= qty * price
            commission = (qty * fee).quantize(COMMISSION_PLACES, ROUND_UP)
            trade = {"symbol": self.config.symbol, "id": len(self._trades) + 1, "orderId": order_id,
                     "orderListId": -1, "price": _text(price), "qty": _text(qty),
                     "quoteQty": _text(qty * price), "commission": _text(commission),
                     "commissionAsset": self.config.base, "time": now, "isBuyer": True,
                     "isMaker": False, "isBestMatch": True}
            self._trades.append(trade)
            fills.append(trade)
            if remaining < price * step:
                return fills, False
        return fills, True

    def order(self, client_order_id: str | None, order_id: int | None) -> dict:
        with self._lock:
            matches = [o for o in self._orders
                       if (client_order_id is not None and o["clientOrderId"] == client_order_id)
                       or (order_id is not None and o["orderId"] == order_id)]
            if not matches:
                raise BinanceError(-2013, "Order does not exist.")
            order = matches[-1]
            lag = self._lookups.get(order["clientOrderId"], 0)
            if lag > 0:
                self._lookups[order["clientOrderId"]] = lag - 1
                raise BinanceError(-2013, "Order does not exist.")
            return dict(order)

    def trades(self, order_id: int | None) -> list[dict]:
        with self._lock:
            return [dict(t) for t in self._trades if order_id is None or t["orderId"] == order_id]

    def account(self) -> dict:
        fees = self.config
        with self._lock:
            balances = [{"asset": a, "free": _text(v), "locked": _text(Decimal(0))}
                        for a, v in sorted(self._balances.items())]
        bps = int(fees.taker_fee * 10_000)
        return {
            "makerCommission": int(fees.maker_fee * 10_000), "takerCommission": bps,
            "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": _text(fees.maker_fee), "taker": _text(fees.taker_fee),
                                "buyer": _text(Decimal(0)), "seller": _text(Decimal(0))},
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": _now_ms(),
            "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 1,
        }

    # -- withdrawals --------------------------------------------------------------------
    def withdraw(self, coin: str, address: str, amount: Decimal, withdraw_order_id: str | None,
                 network: str | None) -> str:
        """Accept a withdrawal (status Processing) and queue it; Binance's withdrawal id.

        A repeated withdrawOrderId returns the first withdrawal's id and moves nothing.
        """
        rules = self.config.withdrawals.get(coin)
        if rules is None:
            raise BinanceError(-4018, "We don't have this asset.")
        if network is not None and network != rules.network:
            raise BinanceError(-4019, "Current asset is not open for withdrawal.")
        with self._lock:
            for earlier in self._withdrawals:
                if withdraw_order_id is not None and earlier.get("withdrawOrderId") == withdraw_order_id:
                    return str(earlier["id"])
            if address.lower() not in {a.lower() for a in rules.whitelist}:
                raise BinanceError(-4035, "This address is not on the whitelist. Please join and try again.")
            if amount % rules.multiple != 0:
                raise BinanceError(-4021, f"Asset withdrawal must be an {coin} multiple of {rules.multiple}.")
            if amount < rules.minimum or amount <= rules.fee:
                raise BinanceError(-4022, f"Not less than the minimum pick-up quantity {rules.minimum}.")
            if self._balances.get(coin, Decimal(0)) < amount:
                raise BinanceError(-4026, "You have insufficient balance.")
            self._balances[coin] -= amount
            withdrawal = {
                "id": uuid.uuid4().hex, "amount": _text(amount - rules.fee),
                "transactionFee": _text(rules.fee), "coin": coin, "status": PROCESSING,
                "address": address, "txId": "", "network": rules.network, "transferType": 0,
                "applyTime": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), "confirmNo": 0,
                "walletType": 0, "txKey": "", "info": "",
            }
            if withdraw_order_id is not None:
                withdrawal["withdrawOrderId"] = withdraw_order_id
            self._withdrawals.append(withdrawal)
        self._queue.put(withdrawal)
        return str(withdrawal["id"])

    def withdraw_history(self, coin: str | None, withdraw_order_id: str | None) -> list[dict]:
        with self._lock:
            found = [dict(w) for w in self._withdrawals
                     if (coin is None or w["coin"] == coin)
                     and (withdraw_order_id is None or w.get("withdrawOrderId") == withdraw_order_id)]
        return found[::-1]  # newest first, as Binance lists them

    def _process_withdrawals(self) -> None:
        while (withdrawal := self._queue.get()) is not None:
            try:
                tx_id = self._send(withdrawal)
                update = {"status": COMPLETED, "txId": tx_id, "confirmNo": 1}
            except Exception as error:  # the chain refused: Binance marks it failed, refunds
                update = {"status": FAILURE, "info": str(error)[:200]}
                with self._lock:
                    coin = withdrawal["coin"]
                    refund = Decimal(withdrawal["amount"]) + Decimal(withdrawal["transactionFee"])
                    self._balances[coin] = self._balances.get(coin, Decimal(0)) + refund
            with self._lock:
                withdrawal.update(update, completeTime=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"))

    def _send(self, withdrawal: dict) -> str:
        amount = Decimal(withdrawal["amount"])
        if self.on_withdraw is None:
            return "0x" + hashlib.sha256(withdrawal["id"].encode()).hexdigest()
        return self.on_withdraw(withdrawal["coin"], withdrawal["address"], amount, withdrawal["id"])


def _now_ms() -> int:
    return int(time.time() * 1000)
