"""A player's insights: what they wagered, won or lost, and what they should have expected."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BetRecord:
    stake: int
    returned: int | None  # None while the round is open
    expected_value: int  # as quoted when the bet was taken
    win_probability: float
    payout_if_wins: int
    commission: int
    refunded: bool = False


@dataclass(frozen=True)
class Insights:
    bets: int
    wagered: int
    net_result: int  # returned - staked, over resolved bets
    expected_net: int  # sum of the quoted expected values
    expected_band: tuple[int, int]  # expected_net ± 2σ
    commission_paid: int
    tokens_burned: int | None  # pro rata to commission, once burns exist


def record(stake: int, returned: int | None, education: dict[str, Any] | None,
           round_status: str) -> BetRecord:
    quote = education or {}
    return BetRecord(stake, returned, int(quote.get("expected_value", 0)),
                     float(quote.get("win_probability", 0.0)), int(quote.get("payout_if_wins", 0)),
                     int(quote.get("commission", 0)), round_status == "refunded")


def insights(records: list[BetRecord]) -> Insights:
    """Sums over the player's bets; σ is that of independent win-or-lose bets."""
    resolved = [r for r in records if r.returned is not None]
    # A refunded bet was never at risk: it counts in neither the expectation nor its spread.
    at_risk = [r for r in records if not r.refunded]
    variance = sum(r.win_probability * (1 - r.win_probability) * r.payout_if_wins ** 2
                   for r in at_risk)
    expected = sum(r.expected_value for r in at_risk)
    band = 2 * math.sqrt(variance)
    return Insights(
        bets=len(records),
        wagered=sum(r.stake for r in records),
        net_result=sum(r.returned - r.stake for r in resolved if r.returned is not None),
        expected_net=expected,
        expected_band=(math.floor(expected - band), math.ceil(expected + band)),
        commission_paid=sum(r.commission for r in resolved if not r.refunded),
        tokens_burned=None,
    )
