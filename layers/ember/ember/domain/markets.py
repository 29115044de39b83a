"""A market: what can be bet on, how rounds are timed, and the terms every round copies."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidMarket

MAX_COMMISSION_BPS = 1000  # hard cap: 10%, whatever a config file says
BPS_DENOMINATOR = 10_000
_MARKET_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class Market:
    id: str
    title: str
    outcomes: tuple[str, ...]
    interval_s: int  # a new round opens every interval
    bet_window_s: int  # bets are taken for this long after open; then the round locks
    commission_bps: int
    min_bet: int
    max_bet: int
    resolve_grace_s: int = 300  # unresolved this long after close → refunded in full
    active: bool = True

    def __post_init__(self) -> None:
        for problem in market_problems(self):
            raise InvalidMarket(f"market {self.id!r}: {problem}", market=self.id)


def market_problems(m: Market) -> list[str]:
    """Every rule the market breaks, in words an operator can act on (empty when valid)."""
    problems = []
    if not _MARKET_ID.match(m.id):
        problems.append("id must be 2-63 chars of a-z, 0-9 and '-'")
    if len(m.outcomes) < 2 or len(set(m.outcomes)) != len(m.outcomes):
        problems.append("needs at least two distinct outcomes")
    if not 0 <= m.commission_bps <= MAX_COMMISSION_BPS:
        problems.append(f"commission_bps must be within 0..{MAX_COMMISSION_BPS}")
    if not 0 < m.bet_window_s < m.interval_s:
        problems.append("bet_window_s must be positive and shorter than interval_s")
    if not 0 < m.min_bet <= m.max_bet:
        problems.append("need 0 < min_bet <= max_bet")
    if m.resolve_grace_s <= 0:
        problems.append("resolve_grace_s must be positive")
    return problems
