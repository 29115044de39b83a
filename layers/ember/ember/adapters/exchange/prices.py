"""Reference prices for the buy-back guard, independent of the DEX pool it guards.

    source = CexPriceSource(venue)                                  # the CEX's mid price
    source = FixedPriceSource.parse("1/1000000000000 treasury")  # EMBER_REFERENCE_PRICE
    source.reference()  # ReferencePrice(stable minor units per token wei, source)

Never the pool itself: a price read from the pool a sandwich has moved would move the guard
with it. Standard library only until `CexPriceSource` is used (its venue brings ccxt).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from ember.domain.buyback import ReferencePrice

if TYPE_CHECKING:
    from .ccxt_venue import CexVenue


class CexPriceSource:
    """The exchange's mid price (best bid and ask, else the last trade), exact."""

    def __init__(self, venue: CexVenue, label: str | None = None) -> None:
        self.venue = venue
        self.label = label or f"{venue.exchange.id}-mid"

    def reference(self) -> ReferencePrice:
        return ReferencePrice(self.venue.reference_ratio(), self.label)


class FixedPriceSource:
    """A configured price: for chains with no market price to read (dev chains, a launch)."""

    def __init__(self, price: ReferencePrice) -> None:
        self.price = price

    @classmethod
    def parse(cls, text: str) -> FixedPriceSource:
        """From "stable_minor_units/token_wei [source]": "1/1000000000000 treasury" is 1 USDT
        (6 decimals) per token (18), labelled "treasury" (else "configured").

        ValueError for anything that is not a positive fraction.
        """
        fraction, _, label = text.strip().partition(" ")
        try:
            price = Fraction(fraction)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{text!r} is not a fraction like '1/1000000000000'") from None
        if price <= 0:
            raise ValueError(f"{text!r} must be a positive price")
        return cls(ReferencePrice(price, label.strip() or "configured"))

    def reference(self) -> ReferencePrice:
        return self.price
