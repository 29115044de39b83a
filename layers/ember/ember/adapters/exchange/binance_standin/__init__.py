"""A local exchange that speaks Binance's spot REST protocol, for the real ccxt client.

Stdlib only, so `ember demo` can run it without the exchange extras. The smallest use:

    venue = StandinVenue(StandinConfig(api_key="k", api_secret="s", asks=[(Decimal("0.5"), Decimal("100"))],
                                       balances={"USDT": Decimal("1000")}))
    with BinanceStandinServer(venue) as server:
        exchange = binance_exchange("k", "s", base_url=server.url)   # ember.adapters.exchange
"""

from __future__ import annotations

from .server import BinanceStandinServer
from .venue import (
    BinanceError,
    OnWithdraw,
    StandinConfig,
    StandinVenue,
    SymbolRules,
    WithdrawRules,
)

__all__ = [
    "BinanceError",
    "BinanceStandinServer",
    "OnWithdraw",
    "StandinConfig",
    "StandinVenue",
    "SymbolRules",
    "WithdrawRules",
]
