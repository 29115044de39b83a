"""Integer amounts (minor units, wei) to the exchange's decimal strings and back, exactly."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction


def to_decimal(amount: int, decimals: int) -> Decimal:
    """12_500_000 with 6 decimals -> Decimal('12.5'); exact."""
    return Decimal(amount).scaleb(-decimals)


def floor_units(value: Decimal | Fraction, decimals: int) -> int:
    """The whole units of `value` (in major units), rounded down: what we may count as received."""
    return math.floor(Fraction(value) * 10**decimals)


def ceil_units(value: Decimal | Fraction, decimals: int) -> int:
    """The whole units of `value`, rounded up: what we count as spent."""
    return math.ceil(Fraction(value) * 10**decimals)


def floor_to_step(value: Decimal | Fraction, step: Decimal) -> Decimal:
    """The largest multiple of `step` not above `value` (lot sizes, withdrawal multiples)."""
    return math.floor(Fraction(value) / Fraction(step)) * step


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of `step` not below `value` (fees the exchange rounds up)."""
    return math.ceil(Fraction(value) / Fraction(step)) * step
