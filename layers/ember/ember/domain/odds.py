"""What a bet really costs and is expected to return, if placed now (education block).

Money stays integer; probabilities and multipliers are ratios shown to people, rounded
to 6 decimals. The draw is uniform over outcomes, so each outcome's true probability is
1/n: the expected value of a bet is p * payout - stake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .settlement import commission_of

_PLACES = 6


@dataclass(frozen=True)
class Quote:
    stake: int
    payout_if_wins: int  # at the current pools, this bet included
    multiplier: float  # payout / stake
    implied_probability: float  # share of the pool on this outcome, this bet included
    break_even_probability: float  # probability at which the expected value is zero
    win_probability: float  # the draw's real probability
    expected_value: int  # minor units, rounded; negative = the average cost of playing
    commission: int  # this bet's share of the round's commission


def quote(pools: Mapping[int, int], outcome: int, stake: int, bps: int, outcome_count: int) -> Quote:
    """The education block for betting `stake` on `outcome` given the current `pools`."""
    total = sum(pools.values()) + stake
    on_outcome = pools.get(outcome, 0) + stake
    win = total - commission_of(total, bps)
    payout = stake * win // on_outcome
    p = 1 / outcome_count
    return Quote(
        stake=stake,
        payout_if_wins=payout,
        multiplier=round(payout / stake, _PLACES),
        implied_probability=round(on_outcome / total, _PLACES),
        break_even_probability=round(min(1.0, stake / payout), _PLACES) if payout else 1.0,
        win_probability=round(p, _PLACES),
        expected_value=round(p * payout - stake),
        commission=commission_of(stake, bps),
    )


def multipliers(pools: Mapping[int, int], bps: int, outcome_count: int) -> list[float | None]:
    """Per outcome, what one unit staked returns if that outcome wins now (None: no stake)."""
    total = sum(pools.values())
    win = total - commission_of(total, bps)
    return [
        round(win / pools[o], _PLACES) if pools.get(o) else None for o in range(outcome_count)
    ]
