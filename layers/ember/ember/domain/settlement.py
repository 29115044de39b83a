"""Pari-mutuel settlement rules: who is paid what, and when everyone is refunded.

For winning outcome w: pool T, winning stake W, commission C = floor(T * bps / 10000);
each winning bet gets floor(stake * (T - C) / W). Rounding dust goes to the commission
pool, so payouts + commission (+ dust) = T exactly. Refund in full, no commission, when
nobody backed w, fewer than two outcomes have bets, the result is a tie, or the round
could not be resolved before its deadline.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from .markets import BPS_DENOMINATOR


class RefundReason(enum.StrEnum):
    NO_BETS = "no_bets"
    NO_WINNING_BET = "no_winning_bet"
    ONE_SIDED = "one_sided"
    TIE = "tie"
    UNRESOLVED = "unresolved"


@dataclass(frozen=True)
class Verdict:
    """How a round ends: settled for `winner`, or refunded for `refund_reason`."""

    total: int  # T
    winner: int | None
    winning_stake: int  # W (0 when refunded)
    commission: int  # C, before dust (0 when refunded)
    refund_reason: RefundReason | None

    @property
    def distributable(self) -> int:
        return self.total - self.commission

    @property
    def refunded(self) -> bool:
        return self.refund_reason is not None


def commission_of(total: int, bps: int) -> int:
    """C = floor(T * bps / 10000)."""
    return total * bps // BPS_DENOMINATOR


def decide(pools: Mapping[int, int], winner: int | None, bps: int, *, tie: bool = False) -> Verdict:
    """The verdict for a round with stakes `pools` per outcome (winner None = unresolved)."""
    total = sum(pools.values())
    backed = sum(1 for stake in pools.values() if stake > 0)
    reason = _refund_reason(total, backed, pools.get(winner, 0) if winner is not None else 0,
                            winner, tie)
    if reason is not None:
        return Verdict(total, None, 0, 0, reason)
    assert winner is not None
    return Verdict(total, winner, pools[winner], commission_of(total, bps), None)


def _refund_reason(
    total: int, backed: int, winning_stake: int, winner: int | None, tie: bool
) -> RefundReason | None:
    if total == 0:
        return RefundReason.NO_BETS
    if tie:
        return RefundReason.TIE
    if winner is None:
        return RefundReason.UNRESOLVED
    if backed < 2:
        return RefundReason.ONE_SIDED
    if winning_stake == 0:
        return RefundReason.NO_WINNING_BET
    return None


def payout(stake: int, verdict: Verdict) -> int:
    """A winning bet's share of the pot after commission; floors, the dust stays in the pot."""
    return stake * verdict.distributable // verdict.winning_stake


def settle_bets(bets: list[tuple[int, int]], verdict: Verdict) -> tuple[list[int], int]:
    """What each (outcome, stake) bet gets back, and the commission including dust.

    The reference implementation the SQL settlement is tested against.
    """
    if verdict.refunded:
        return [stake for _, stake in bets], 0
    paid = [payout(stake, verdict) if outcome == verdict.winner else 0 for outcome, stake in bets]
    return paid, verdict.total - sum(paid)
