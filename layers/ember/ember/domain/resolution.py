"""Deciding a due round: draw the outcome when the salt exists, refund when it never came."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .fairness import draw_outcome
from .rounds import Round
from .settlement import Verdict, decide


@dataclass(frozen=True)
class Resolution:
    verdict: Verdict
    outcome: int | None  # the drawn outcome, published even when the round is refunded
    salt: str | None


def resolve(round_: Round, pools: Mapping[int, int], seed: str, salt: str | None,
            now: datetime) -> Resolution | None:
    """How the round ends, or None when it is not time yet (or the salt may still come)."""
    if round_.status.final or now < round_.times.close_at:
        return None
    if salt is None:
        if now < round_.times.deadline:
            return None
        return Resolution(decide(pools, None, round_.commission_bps), None, None)
    outcome = draw_outcome(seed, str(round_.id), salt, round_.outcome_count)
    return Resolution(decide(pools, outcome, round_.commission_bps), outcome, salt)
