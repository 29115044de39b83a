"""Rounds: their timing, their lifecycle and whether one takes a bet right now."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import AmountOutOfRange, RoundClosed, RoundNotOpen, UnknownOutcome
from .markets import Market
from .money import require_amount

# Round ids are derived from (market, open time) so two keepers creating "the same"
# round collide on the primary key instead of creating two.
_ROUND_NAMESPACE = uuid.UUID("6f0e4bd6-9a63-4c3c-8f43-2d0b1f0e7a51")


class RoundStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    LOCKED = "locked"
    SETTLED = "settled"
    REFUNDED = "refunded"

    @property
    def final(self) -> bool:
        return self in (RoundStatus.SETTLED, RoundStatus.REFUNDED)


@dataclass(frozen=True)
class RoundTimes:
    open_at: datetime
    lock_at: datetime
    close_at: datetime  # the outcome is drawn at or after this moment
    deadline: datetime  # not resolved by then → refunded in full


@dataclass(frozen=True)
class Round:
    """A round's terms as copied from its market at creation; later market edits don't apply."""

    id: uuid.UUID
    market_id: str
    status: RoundStatus
    times: RoundTimes
    outcome_count: int
    commission_bps: int
    min_bet: int
    max_bet: int
    seed_hash: str

    def check_bet(self, outcome: object, amount: object, now: datetime) -> int:
        """The validated amount; raises the error a player should see otherwise."""
        if self.status.final or now >= self.times.lock_at:
            raise RoundClosed("betting closed at lock_at", lock_at=self.times.lock_at.isoformat())
        if now < self.times.open_at:
            raise RoundNotOpen("round opens at open_at", open_at=self.times.open_at.isoformat())
        if isinstance(outcome, bool) or not isinstance(outcome, int):
            raise UnknownOutcome("outcome must be an outcome index")
        if not 0 <= outcome < self.outcome_count:
            raise UnknownOutcome(f"outcome must be within 0..{self.outcome_count - 1}")
        value = require_amount(amount)
        if not self.min_bet <= value <= self.max_bet:
            raise AmountOutOfRange(
                f"amount must be within {self.min_bet}..{self.max_bet}",
                min_bet=self.min_bet,
                max_bet=self.max_bet,
            )
        return value


def round_id(market_id: str, open_at: datetime) -> uuid.UUID:
    """The one id the round of `market_id` opening at `open_at` will ever have."""
    return uuid.uuid5(_ROUND_NAMESPACE, f"{market_id}:{open_at.astimezone(UTC).isoformat()}")


def round_times(market: Market, open_at: datetime) -> RoundTimes:
    """When a round opening at `open_at` locks, closes and must be resolved by."""
    lock_at = open_at + timedelta(seconds=market.bet_window_s)
    close_at = open_at + timedelta(seconds=market.interval_s)
    return RoundTimes(open_at, lock_at, close_at, close_at + timedelta(seconds=market.resolve_grace_s))


def upcoming_opens(market: Market, now: datetime, ahead: int) -> list[datetime]:
    """Open times of the round running at `now` and the next `ahead` ones, epoch-aligned."""
    epoch = int(now.timestamp())
    first = epoch - epoch % market.interval_s
    return [
        datetime.fromtimestamp(first + i * market.interval_s, tz=UTC) for i in range(ahead + 1)
    ]
