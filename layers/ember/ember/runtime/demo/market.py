"""The demo's options and its market: three outcomes, rounds of a few seconds scaled by speed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ember.domain.markets import Market
from ember.domain.money import MINOR_UNITS_PER_MAJOR, format_major

USDT = MINOR_UNITS_PER_MAJOR
BASE_INTERVAL_S = 10  # at --speed 1: a round every 10 s, bets taken for the first 6
BET_SHARE = 0.6
DEPOSIT = 100 * USDT  # what each player is funded with when below it


@dataclass(frozen=True)
class DemoOptions:
    """What `ember demo` was asked for."""

    root: Path
    players: int = 5
    rounds: int = 3
    speed: float = 1.0
    fresh: bool = False


def demo_market(speed: float) -> Market:
    """The demo's market for `speed`: its id names its interval, since rounds copy their terms."""
    interval = max(3, round(BASE_INTERVAL_S / speed))
    window = min(interval - 1, max(2, round(interval * BET_SHARE)))
    return Market(
        id=f"demo-rgb-{interval}s", title=f"Red, green or blue, every {interval} seconds (demo)",
        outcomes=("red", "green", "blue"), interval_s=interval, bet_window_s=window,
        commission_bps=500, min_bet=1 * USDT, max_bet=50 * USDT, resolve_grace_s=30)


def usdt(amount: int) -> str:
    """The amount in USDT for display: exact, without trailing zeros past the cents."""
    whole, _, fraction = format_major(amount).partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def tokens(wei: int) -> str:
    """Token wei as whole tokens with two decimals, for display."""
    return f"{wei / 10**18:,.2f}"
