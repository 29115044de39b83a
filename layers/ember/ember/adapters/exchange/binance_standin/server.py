"""Binance's spot REST protocol over HTTP on localhost, for the real ccxt client.

Signed endpoints check `X-MBX-APIKEY`, the HMAC-SHA256 `signature` over the query string
followed by the body (Binance's "totalParams"), and `timestamp` against `recvWindow`,
answering with Binance's error codes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .venue import BinanceError, StandinVenue, _text

Params = dict[str, str]
Route = Callable[[StandinVenue, Params], object]
MAX_RECV_WINDOW = 60_000


def _param(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def _decimal(params: Params, name: str) -> Decimal:
    try:
        value = Decimal(_param(params, name))
    except InvalidOperation:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is "
                                  "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.") from None
    if not value.is_finite() or value <= 0:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")
    return value


def _symbol(venue: StandinVenue, params: Params) -> None:
    if params.get("symbol", venue.config.symbol) != venue.config.symbol:
        raise BinanceError(-1121, "Invalid symbol.")


def exchange_info(venue: StandinVenue, params: Params) -> object:
    c, r = venue.config, venue.config.rules
    symbol = {
        "symbol": c.symbol, "status": "TRADING", "baseAsset": c.base, "baseAssetPrecision": 8,
        "quoteAsset": c.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True, "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": _text(r.min_price),
             "maxPrice": _text(r.max_price), "tickSize": _text(r.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": _text(r.min_qty), "maxQty": _text(r.max_qty),
             "stepSize": _text(r.step_size)},
            {"filterType": "NOTIONAL", "minNotional": _text(r.min_notional), "applyMinToMarket": True,
             "maxNotional": _text(r.max_notional), "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }
    return {"timezone": "UTC", "serverTime": _now_ms(), "rateLimits": [], "exchangeFilters": [],
            "symbols": [symbol]}


def ticker_24hr(venue: StandinVenue, params: Params) -> object:
    _symbol(venue, params)
    bid, ask = venue.best()
    last, now = venue.last_price(), _now_ms()
    return {"symbol": venue.config.symbol, "priceChange": "0.00000000", "priceChangePercent": "0.000",
            "weightedAvgPrice": _text(last), "prevClosePrice": _text(last), "lastPrice": _text(last),
            "lastQty": "0.00000000", "bidPrice": _text(bid), "bidQty": "0.00000000",
            "askPrice": _text(ask), "askQty": "0.00000000", "openPrice": _text(last),
            "highPrice": _text(last), "lowPrice": _text(last), "volume": "0.00000000",
            "quoteVolume": "0.00000000", "openTime": now - 86_400_000, "closeTime": now,
            "firstId": -1, "lastId": -1, "count": 0}


def ticker_price(venue: StandinVenue, params: Params) -> object:
    _symbol(venue, params)
    return {"symbol": venue.config.symbol, "price": _text(venue.last_price())}


def depth(venue: StandinVenue, params: Params) -> object:
    _symbol(venue, params)
    return venue.book(min(int(params.get("limit", "100")), 5000))


def new_order(venue: StandinVenue, params: Params) -> object:
    _symbol(venue, params)
    if (params.get("type"), params.get("side")) != ("MARKET", "BUY") or "quoteOrderQty" not in params:
        raise BinanceError(-1013, "The stand-in only fills MARKET BUY orders by quoteOrderQty.")
    client_order_id = params.get("newClientOrderId") or f"standin-{time.time_ns()}"
    return venue.market_buy(_decimal(params, "quoteOrderQty"), client_order_id)


def query_order(venue: StandinVenue, params: Params) -> object:
    _symbol(venue, params)
    order_id = params.get("orderId")
    if order_id is None and "origClientOrderId" not in params:
        raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, "
                                  "but both were empty/null!")
    return venue.order(params.get("origClientOrderId"), int(order_id) if order_id else None)


def my_trades(venue: StandinVenue, params: Params) -> object:
    _symbol(venue, params)
    order_id = params.get("orderId")
    return venue.trades(int(order_id) if order_id else None)


def trade_fee(venue: StandinVenue, params: Params) -> object:
    _symbol(venue, params)
    c = venue.config
    return [{"symbol": c.symbol, "makerCommission": _text(c.maker_fee),
             "takerCommission": _text(c.taker_fee)}]


def coins(venue: StandinVenue, params: Params) -> object:
    account = {b["asset"]: b for b in venue.account()["balances"]}
    listed = []
    for coin in (venue.config.base, venue.config.quote):
        rules = venue.config.withdrawals.get(coin)
        networks = [] if rules is None else [{
            "network": rules.network, "coin": coin, "withdrawIntegerMultiple": _text(rules.multiple),
            "isDefault": True, "depositEnable": True, "withdrawEnable": True, "name": "Ethereum (ERC20)",
            "resetAddressStatus": False, "addressRegex": "^(0x)[0-9A-Fa-f]{40}$", "memoRegex": "",
            "withdrawFee": _text(rules.fee), "withdrawMin": _text(rules.minimum),
            "withdrawMax": "9999999999.99999999", "minConfirm": 1, "unLockConfirm": 0,
            "sameAddress": False, "busy": False}]
        free = account.get(coin, {}).get("free", "0.00000000")
        listed.append({"coin": coin, "name": coin, "depositAllEnable": True, "withdrawAllEnable": True,
                       "free": free, "locked": "0", "freeze": "0", "withdrawing": "0", "ipoing": "0",
                       "ipoable": "0", "storage": "0", "isLegalMoney": False, "trading": True,
                       "networkList": networks})
    return listed


def withdraw_apply(venue: StandinVenue, params: Params) -> object:
    withdrawal_id = venue.withdraw(_param(params, "coin"), _param(params, "address"),
                                   _decimal(params, "amount"), params.get("withdrawOrderId"),
                                   params.get("network"))
    return {"id": withdrawal_id}


def withdraw_history(venue: StandinVenue, params: Params) -> object:
    return venue.withdraw_history(params.get("coin"), params.get("withdrawOrderId"))


PUBLIC: dict[tuple[str, str], Route] = {
    ("GET", "/api/v3/ping"): lambda venue, params: {},
    ("GET", "/api/v3/time"): lambda venue, params: {"serverTime": _now_ms()},
    ("GET", "/api/v3/exchangeInfo"): exchange_info,
    ("GET", "/api/v3/ticker/24hr"): ticker_24hr,
    ("GET", "/api/v3/ticker/price"): ticker_price,
    ("GET", "/api/v3/depth"): depth,
}
SIGNED: dict[tuple[str, str], Route] = {
    ("POST", "/api/v3/order"): new_order,
    ("GET", "/api/v3/order"): query_order,
    ("GET", "/api/v3/myTrades"): my_trades,
    ("GET", "/api/v3/account"): lambda venue, params: venue.account(),
    ("GET", "/sapi/v1/asset/tradeFee"): trade_fee,
    ("GET", "/sapi/v1/capital/config/getall"): coins,
    ("POST", "/sapi/v1/capital/withdraw/apply"): withdraw_apply,
    ("GET", "/sapi/v1/capital/withdraw/history"): withdraw_history,
}


def _without_signature(raw: str) -> tuple[str, str | None]:
    """(the raw text minus its `signature=` pair, the signature if it was there)."""
    kept, signature = [], None
    for pair in raw.split("&") if raw else []:
        if pair.startswith("signature="):
            signature = pair.removeprefix("signature=")
        else:
            kept.append(pair)
    return "&".join(kept), signature


def authenticate(venue: StandinVenue, api_key: str | None, query: str, body: str, params: Params) -> None:
    """Raise BinanceError unless the request is signed as Binance requires."""
    if not api_key:
        raise BinanceError(-2014, "API-key format invalid.", 401)
    if not hmac.compare_digest(api_key, venue.config.api_key):
        raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    unsigned_query, query_signature = _without_signature(query)
    unsigned_body, body_signature = _without_signature(body)
    signature = query_signature or body_signature
    if not signature:
        raise BinanceError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, "
                                  "or malformed.")
    expected = hmac.new(venue.config.api_secret.encode(), (unsigned_query + unsigned_body).encode(),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise BinanceError(-1022, "Signature for this request is not valid.")
    _check_timestamp(params)


def _check_timestamp(params: Params) -> None:
    try:
        timestamp = int(_param(params, "timestamp"))
        recv_window = int(params.get("recvWindow", "5000"))
    except ValueError:
        raise BinanceError(-1100, "Illegal characters found in parameter 'timestamp'.") from None
    if recv_window > MAX_RECV_WINDOW:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    now = _now_ms()
    if timestamp >= now + 1000:
        raise BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now - timestamp > recv_window:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


class _Handler(BaseHTTPRequestHandler):
    server: BinanceStandinServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        key = (method, url.path)
        try:
            if key in SIGNED:
                authenticate(self.server.venue, self.headers.get("X-MBX-APIKEY"), url.query, body, params)
                route = SIGNED[key]
            elif key in PUBLIC:
                route = PUBLIC[key]
            else:
                raise BinanceError(-1, f"The stand-in does not serve {method} {url.path}.", 404)
            result = route(self.server.venue, params)
        except BinanceError as error:
            self._send(error.http_status, {"code": error.code, "msg": error.msg})
            return
        if key == ("POST", "/api/v3/order") and self.server.take_dropped_response():
            self.close_connection = True  # filled, but the caller never hears back
            return
        self._send(200, result)

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass  # quiet: tests and the demo have their own logs


class BinanceStandinServer(ThreadingHTTPServer):
    """Serves one StandinVenue; `url` is what ccxt's `urls['api']` should point at."""

    daemon_threads = True

    def __init__(self, venue: StandinVenue, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.venue = venue
        self._drops = 0
        self._drops_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def drop_next_order_responses(self, count: int = 1) -> None:
        """Fill the next `count` orders but close the connection instead of answering."""
        with self._drops_lock:
            self._drops = count

    def take_dropped_response(self) -> bool:
        with self._drops_lock:
            if self._drops <= 0:
                return False
            self._drops -= 1
            return True

    def start(self) -> BinanceStandinServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="binance-standin")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.venue.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> BinanceStandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _now_ms() -> int:
    return int(time.time() * 1000)
