"""Buy-back rules: when to buy, how much, on which venue, and the price guard on each swap.

Units: stable in minor units (USDT, 6 decimals), the token in wei (18 decimals), and a
price is stable minor units per token wei as an exact Fraction, never a float. Time is
passed in. A large amount is bought in tranches: each buy is at most one tranche, and the
next buy waits at least `tranche_interval` after the last.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from fractions import Fraction

from .errors import BuybackTooSmall, NoVenueQuote, PoolPriceDeviates
from .markets import BPS_DENOMINATOR
from .money import MAX_AMOUNT

# Hard caps whatever a config file says: a wider guard is no guard.
MAX_SLIPPAGE_BPS = 1000
MAX_POOL_DEVIATION_BPS = 1000
_AMOUNT_FIELDS = ("threshold", "per_buy_cap", "daily_cap", "tranche_size")
_DURATION_FIELDS = ("max_delay", "tranche_interval")
_BPS_FIELDS = {"max_slippage_bps": MAX_SLIPPAGE_BPS, "max_pool_deviation_bps": MAX_POOL_DEVIATION_BPS}


@dataclass(frozen=True)
class BuybackPolicy:
    threshold: int  # buy as soon as the pool holds this much (stable minor units)
    max_delay: timedelta  # or when this long has passed since the last buy and the pool is not empty
    per_buy_cap: int  # one swap never spends more
    daily_cap: int  # the spends of one day never add up to more
    tranche_size: int  # a larger amount is bought in tranches of at most this
    tranche_interval: timedelta  # the least time between two buys
    max_slippage_bps: int  # amountOutMin: this far below the reference price at most
    max_pool_deviation_bps: int  # the pool's spot price this far from the reference at most

    def __post_init__(self) -> None:
        problems = policy_problems(self)
        if problems:
            raise ValueError("BuybackPolicy: " + "; ".join(problems))


def policy_problems(policy: BuybackPolicy) -> list[str]:
    """Every rule the policy breaks, each naming its field (empty when valid)."""
    values = {f.name: getattr(policy, f.name) for f in fields(policy)}
    problems = [f"{name} must be an integer within 1..{MAX_AMOUNT} (stable minor units)"
                for name in _AMOUNT_FIELDS if not _is_int_within(values[name], 1, MAX_AMOUNT)]
    bad_durations = [name for name in _DURATION_FIELDS
                     if not (isinstance(values[name], timedelta) and values[name] > timedelta(0))]
    problems += [f"{name} must be a positive timedelta" for name in bad_durations]
    if not bad_durations and policy.tranche_interval > policy.max_delay:
        problems.append("tranche_interval must not be longer than max_delay")
    problems += [f"{name} must be an integer within 0..{cap}" for name, cap in _BPS_FIELDS.items()
                 if not _is_int_within(values[name], 0, cap)]
    return problems


class NoBuyReason(enum.StrEnum):
    EMPTY = "empty"
    DAILY_CAP_REACHED = "daily_cap_reached"
    BELOW_THRESHOLD = "below_threshold"
    TRANCHE_WAIT = "tranche_wait"


class BuyTrigger(enum.StrEnum):
    THRESHOLD = "threshold"
    MAX_DELAY = "max_delay"


class BuyLimit(enum.StrEnum):
    """What set the amount of a buy."""

    POOL = "pool"
    DAILY_CAP = "daily_cap"
    PER_BUY_CAP = "per_buy_cap"
    TRANCHE = "tranche"


@dataclass(frozen=True)
class BuyPlan:
    amount: int  # stable minor units to spend now
    trigger: BuyTrigger
    limited_by: BuyLimit


@dataclass(frozen=True)
class NoBuy:
    reason: NoBuyReason


def plan_buy(
    pool_balance: int, last_buy_at: datetime | None, spent_today: int, now: datetime,
    policy: BuybackPolicy,
) -> BuyPlan | NoBuy:
    """What to spend now: a BuyPlan, or NoBuy with the reason to wait.

    `last_buy_at` None means no buy yet: no tranche to wait for, and the delay has passed.
    `spent_today` is what buys spent in the caller's day (the window of `daily_cap`).
    """
    _require_int_within(pool_balance, "pool_balance", 0)
    _require_int_within(spent_today, "spent_today", 0)
    if pool_balance == 0:
        return NoBuy(NoBuyReason.EMPTY)
    left_today = max(0, policy.daily_cap - spent_today)
    if left_today == 0:
        return NoBuy(NoBuyReason.DAILY_CAP_REACHED)
    since_last = None if last_buy_at is None else now - last_buy_at
    if pool_balance >= policy.threshold:
        trigger = BuyTrigger.THRESHOLD
    elif since_last is None or since_last >= policy.max_delay:
        trigger = BuyTrigger.MAX_DELAY
    else:
        return NoBuy(NoBuyReason.BELOW_THRESHOLD)
    if since_last is not None and since_last < policy.tranche_interval:
        return NoBuy(NoBuyReason.TRANCHE_WAIT)
    limits = {BuyLimit.POOL: pool_balance, BuyLimit.DAILY_CAP: left_today,
              BuyLimit.PER_BUY_CAP: policy.per_buy_cap, BuyLimit.TRANCHE: policy.tranche_size}
    limited_by = min(limits, key=limits.__getitem__)  # ties: the first in this order
    return BuyPlan(limits[limited_by], trigger, limited_by)


class VenueKind(enum.StrEnum):
    DEX = "dex"
    CEX = "cex"


@dataclass(frozen=True)
class VenueQuote:
    """What a venue gives for a spend, after every fee it takes.

    DEX: the router's getAmountsOut. CEX: the order book walked for the spend, minus the
    trading fee and the withdrawal fee to the technical wallet.
    """

    venue: str  # e.g. "uniswap-v2", "binance"
    kind: VenueKind
    spend: int  # stable minor units
    tokens_out: int  # token wei that reach the technical wallet


def choose_venue(quotes: Sequence[VenueQuote]) -> VenueQuote:
    """The quote that delivers the most tokens; ties prefer a DEX, then the venue name.

    NoVenueQuote when no quote delivers a token; ValueError when the spends differ.
    """
    if len({q.spend for q in quotes}) > 1:
        raise ValueError("quotes must be for the same spend to be compared")
    usable = [q for q in quotes if q.tokens_out > 0]
    if not usable:
        raise NoVenueQuote("no venue quoted any token for the spend",
                           venues=",".join(q.venue for q in quotes))
    return min(usable, key=lambda q: (-q.tokens_out, q.kind is not VenueKind.DEX, q.venue))


@dataclass(frozen=True)
class ReferencePrice:
    """An independent price: stable minor units per token wei, exact; and its source."""

    stable_per_token: Fraction
    source: str  # e.g. "chainlink", "binance-mid"

    def __post_init__(self) -> None:
        if not isinstance(self.stable_per_token, Fraction) or self.stable_per_token <= 0:
            raise ValueError("stable_per_token must be a positive Fraction")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError("source must name where the price comes from")

    @classmethod
    def of(cls, stable: int, tokens: int, source: str) -> ReferencePrice:
        """The price at which `tokens` wei cost `stable` minor units."""
        _require_int_within(stable, "stable", 1)
        _require_int_within(tokens, "tokens", 1)
        return cls(Fraction(stable, tokens), source)


def tokens_at_reference(spend: int, reference: ReferencePrice) -> int:
    """The token wei `spend` buys at the reference price, floored."""
    _require_int_within(spend, "spend", 1)
    price = reference.stable_per_token
    return spend * price.denominator // price.numerator


def min_amount_out(spend: int, reference: ReferencePrice, max_slippage_bps: int) -> int:
    """amountOutMin: floor(spend / price * (1 - slippage)); never 0 (BuybackTooSmall)."""
    _require_int_within(spend, "spend", 1)
    _require_int_within(max_slippage_bps, "max_slippage_bps", 0, BPS_DENOMINATOR - 1)
    price = reference.stable_per_token
    out = (spend * price.denominator * (BPS_DENOMINATOR - max_slippage_bps)
           // (price.numerator * BPS_DENOMINATOR))
    if out == 0:
        raise BuybackTooSmall(f"spending {spend} buys no token within the slippage guard",
                              spend=spend, source=reference.source)
    return out


def pool_deviation_bps(
    pool_reserves_stable: int, pool_reserves_token: int, reference: ReferencePrice
) -> Fraction:
    """How far the pool's spot price is from the reference, in bps (positive: dearer)."""
    _require_int_within(pool_reserves_stable, "pool_reserves_stable", 1)
    _require_int_within(pool_reserves_token, "pool_reserves_token", 1)
    spot = Fraction(pool_reserves_stable, pool_reserves_token)
    return (spot / reference.stable_per_token - 1) * BPS_DENOMINATOR


def check_pool_price(
    pool_reserves_stable: int, pool_reserves_token: int, reference: ReferencePrice,
    max_deviation_bps: int,
) -> Fraction:
    """The pool's deviation in bps when within `max_deviation_bps` either way.

    PoolPriceDeviates when it is further, or when the pool has no liquidity to price.
    """
    _require_int_within(max_deviation_bps, "max_deviation_bps", 0, BPS_DENOMINATOR - 1)
    if pool_reserves_stable <= 0 or pool_reserves_token <= 0:
        raise PoolPriceDeviates("the pool has no liquidity", source=reference.source)
    deviation = pool_deviation_bps(pool_reserves_stable, pool_reserves_token, reference)
    if abs(deviation) > max_deviation_bps:
        raise PoolPriceDeviates(
            f"pool price is {float(deviation):.1f} bps from {reference.source}, "
            f"more than {max_deviation_bps}",
            deviation_bps=round(deviation), max_deviation_bps=max_deviation_bps,
            source=reference.source)
    return deviation


def slippage_bps(expected_tokens_at_reference: int, received: int) -> Fraction:
    """How much less was received than expected, in bps (negative: more was received)."""
    _require_int_within(expected_tokens_at_reference, "expected_tokens_at_reference", 1)
    _require_int_within(received, "received", 0)
    shortfall = expected_tokens_at_reference - received
    return Fraction(shortfall * BPS_DENOMINATOR, expected_tokens_at_reference)


def average_price(spent: int, received: int) -> Fraction:
    """What a buy paid: stable minor units per token wei, as in ReferencePrice."""
    _require_int_within(spent, "spent", 0)
    _require_int_within(received, "received", 1)
    return Fraction(spent, received)


def _is_int_within(value: object, low: int, high: int | None = None) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high))


def _require_int_within(value: object, field: str, low: int, high: int | None = None) -> None:
    if not _is_int_within(value, low, high):
        bound = f"within {low}..{high}" if high is not None else f"at least {low}"
        raise ValueError(f"{field} must be an integer {bound}, got {value!r}")
