"""Player protection: deposit, loss and stake limits per period, and self-exclusion.

Lowering a limit takes effect at once; raising or removing one only after a cooling-off
period (24 h), during which the lower limit still applies. A self-exclusion stops bets and
deposits until it ends and can be extended, never shortened.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .errors import EmberError, InvalidRequest
from .money import MAX_AMOUNT

COOLING_OFF = timedelta(hours=24)
MAX_EXCLUSION = timedelta(days=365 * 5)


class LimitKind(enum.StrEnum):
    DEPOSIT = "deposit"
    LOSS = "loss"
    STAKE = "stake"


class Period(enum.StrEnum):
    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"

    @property
    def length(self) -> timedelta:
        return {"24h": timedelta(hours=24), "7d": timedelta(days=7),
                "30d": timedelta(days=30)}[self.value]


class LimitExceeded(EmberError):
    status = 409

    def __init__(self, kind: LimitKind, period: Period, limit: int, would_be: int) -> None:
        super().__init__(f"{kind} limit of {limit} per {period} would be exceeded ({would_be})",
                         kind=str(kind), period=str(period), limit=limit)
        self.code = f"{kind}_limit_exceeded"


class SelfExcluded(EmberError):
    code = "self_excluded"
    status = 403


LIMIT_ERROR_CODES = tuple(f"{kind}_limit_exceeded" for kind in LimitKind)


@dataclass(frozen=True)
class Limit:
    """One limit's state: the amount in force (None = none) and any raise waiting to apply."""

    kind: LimitKind
    period: Period
    amount: int | None = None
    pending_amount: int | None = None
    pending_at: datetime | None = None  # set when a raise (or removal) is waiting

    def in_force(self, now: datetime) -> int | None:
        """The amount that applies at `now`, a due pending raise included."""
        if self.pending_at is not None and self.pending_at <= now:
            return self.pending_amount
        return self.amount

    def changed_to(self, wanted: int | None, now: datetime) -> Limit:
        """The limit after the player asks for `wanted`: lower now, higher after cooling off."""
        if wanted is not None and (isinstance(wanted, bool) or not isinstance(wanted, int)
                                   or not 0 <= wanted <= MAX_AMOUNT):
            raise InvalidRequest("a limit is a non-negative integer amount or null",
                                 kind=str(self.kind), period=str(self.period))
        current = self.in_force(now)
        if _stricter(wanted, current):
            return replace(self, amount=wanted, pending_amount=None, pending_at=None)
        if wanted == current:
            return replace(self, amount=current, pending_amount=None, pending_at=None)
        return replace(self, amount=current, pending_amount=wanted, pending_at=now + COOLING_OFF)


def _stricter(wanted: int | None, current: int | None) -> bool:
    if wanted is None:
        return False
    return current is None or wanted < current


@dataclass(frozen=True)
class Exposure:
    """What the player did per period up to now: staked, got back, deposited."""

    staked: Mapping[Period, int]
    returned: Mapping[Period, int]
    deposited: Mapping[Period, int]


def check_bet(amount: int, limits: list[Limit], exposure: Exposure, excluded_until: datetime | None,
              now: datetime) -> None:
    """Raises SelfExcluded or LimitExceeded when this stake is not allowed now."""
    _check_exclusion(excluded_until, now)
    for limit in limits:
        cap = limit.in_force(now)
        if cap is None or limit.kind is LimitKind.DEPOSIT:
            continue
        staked = exposure.staked.get(limit.period, 0) + amount
        # The stake could be lost in full, so a loss limit counts it as lost.
        would_be = staked if limit.kind is LimitKind.STAKE else (
            staked - exposure.returned.get(limit.period, 0))
        if would_be > cap:
            raise LimitExceeded(limit.kind, limit.period, cap, would_be)


def check_deposit(amount: int, limits: list[Limit], exposure: Exposure,
                  excluded_until: datetime | None, now: datetime) -> None:
    """Raises SelfExcluded or LimitExceeded when this deposit is not allowed now."""
    _check_exclusion(excluded_until, now)
    for limit in limits:
        cap = limit.in_force(now)
        if cap is None or limit.kind is not LimitKind.DEPOSIT:
            continue
        would_be = exposure.deposited.get(limit.period, 0) + amount
        if would_be > cap:
            raise LimitExceeded(limit.kind, limit.period, cap, would_be)


def _check_exclusion(excluded_until: datetime | None, now: datetime) -> None:
    if excluded_until is not None and now < excluded_until:
        raise SelfExcluded("self-excluded until " + excluded_until.isoformat(),
                           until=excluded_until.isoformat())


def exclusion_end(now: datetime, days: object) -> datetime:
    """When a self-exclusion asked for now for `days` days ends; InvalidRequest if absurd."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InvalidRequest("days must be a positive integer")
    length = timedelta(days=days)
    if length > MAX_EXCLUSION:
        raise InvalidRequest(f"a self-exclusion lasts at most {MAX_EXCLUSION.days} days")
    return now + length
