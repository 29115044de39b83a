"""Money is an integer count of minor units (USDT has 6 decimals); never a float."""

from __future__ import annotations

from .errors import InvalidAmount

CURRENCY = "USDT"
MINOR_UNITS_PER_MAJOR = 1_000_000
# A transfer bigger than this is a bug or an attack; also keeps products inside numeric ranges.
MAX_AMOUNT = 10**15


def require_amount(value: object, field: str = "amount") -> int:
    """The value as a positive amount of minor units; InvalidAmount for anything else.

    Booleans, floats (even 5.0), strings and decimals are refused: a client that sends a
    fractional amount must hear about it rather than have it rounded.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(f"{field} must be an integer number of minor units", field=field)
    if value <= 0:
        raise InvalidAmount(f"{field} must be positive", field=field)
    if value > MAX_AMOUNT:
        raise InvalidAmount(f"{field} exceeds {MAX_AMOUNT}", field=field)
    return value


def format_major(amount: int) -> str:
    """The amount in major units for people ('12.500000'); never parsed back."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), MINOR_UNITS_PER_MAJOR)
    return f"{sign}{whole}.{frac:06d}"
