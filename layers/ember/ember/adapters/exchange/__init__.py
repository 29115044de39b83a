"""The CEX route of the buy-back: a ccxt exchange behind `CexVenue`, and its typed errors.

    exchange = binance_exchange(api_key, secret)           # base_url=... for the stand-in
    venue = CexVenue(exchange, symbol="EMBR/USDT", decimals={"EMBR": 18, "USDT": 6})
    placed = venue.market_buy(25_000_000, client_order_id="buyback-42")
    fill = venue.wait_filled("buyback-42", timeout_s=30)

Only the buy-back imports this package; ccxt is loaded on first use of `CexVenue` or
`binance_exchange`, so the errors (and the stdlib stand-in next door) cost nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    CEX_ERRORS,
    CexError,
    ExchangeAuthRejected,
    ExchangeUnavailable,
    OrderRejected,
    WithdrawalRejected,
)

if TYPE_CHECKING:
    from .ccxt_venue import BuyQuote, CexVenue, Fill, PlacedOrder, Withdrawal, binance_exchange

__all__ = [
    "CEX_ERRORS",
    "BuyQuote",
    "CexError",
    "CexVenue",
    "ExchangeAuthRejected",
    "ExchangeUnavailable",
    "Fill",
    "OrderRejected",
    "PlacedOrder",
    "Withdrawal",
    "WithdrawalRejected",
    "binance_exchange",
]
_CCXT_NAMES = {"BuyQuote", "CexVenue", "Fill", "PlacedOrder", "Withdrawal", "binance_exchange"}


def __getattr__(name: str) -> object:
    """The ccxt-backed names, imported on first use: ccxt takes about a second to import."""
    if name in _CCXT_NAMES:
        from . import ccxt_venue

        return getattr(ccxt_venue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
