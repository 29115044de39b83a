"""The finance burn report: what a period's commission bought and burned, reconciled to chain.

```python
report = build_report(period, ledger_figures, chain_figures, generated_at=now)
report.mismatches          # [] when every unit reconciles; else the differences, with amounts
```
Pure arithmetic over figures read elsewhere (adapters/postgres/report_reads.py,
adapters/chain/report_reads.py): stable in minor units, tokens in wei, prices and rates as
exact Fractions. Nothing here reads a clock, a database or a chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from .buyback import ReferencePrice, average_price, slippage_bps, tokens_at_reference

PERIOD_KINDS = ("daily", "weekly", "monthly")
CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; `kind` is daily, weekly, monthly or custom."""

    kind: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.kind not in (*PERIOD_KINDS, CUSTOM):
            raise ValueError(f"period kind must be one of {', '.join((*PERIOD_KINDS, CUSTOM))}")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("period bounds must be timezone-aware")
        if not self.start < self.end:
            raise ValueError("a period must end after it starts")

    @property
    def key(self) -> str:
        """`2026-11-01_2026-11-08` (dates when both bounds are UTC midnights, else times)."""
        return f"{_stamp(self.start)}_{_stamp(self.end)}"

    @property
    def report_id(self) -> str:
        """The report's id: `weekly.2026-11-01_2026-11-08`; safe in a URL path and an S3 key."""
        return f"{self.kind}.{self.key}"

    @classmethod
    def from_report_id(cls, report_id: str) -> Period:
        """The period a report id names; ValueError when it names none."""
        kind, _, key = report_id.partition(".")
        start, sep, end = key.partition("_")
        if not sep:
            raise ValueError(f"not a report id: {report_id!r}")
        return cls(kind, _parse_stamp(start), _parse_stamp(end))


def _stamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    if moment.time() == datetime.min.time():
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H%M%SZ")


def _parse_stamp(text: str) -> datetime:
    for pattern in ("%Y-%m-%d", "%Y-%m-%dT%H%M%SZ"):
        try:
            parsed = datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        if _stamp(parsed) == text:  # one spelling per moment: ids compare as strings
            return parsed
    raise ValueError(f"not a report period bound: {text!r}")


def last_complete_period(kind: str, now: datetime) -> Period:
    """The latest daily, weekly (Monday to Monday) or monthly period that ended by `now`."""
    today = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    if kind == "daily":
        return Period(kind, today - timedelta(days=1), today)
    if kind == "weekly":
        monday = today - timedelta(days=today.weekday())
        return Period(kind, monday - timedelta(days=7), monday)
    if kind == "monthly":
        first = today.replace(day=1)
        previous = (first - timedelta(days=1)).replace(day=1)
        return Period(kind, previous, first)
    raise ValueError(f"period kind must be one of {', '.join(PERIOD_KINDS)}")


# -- inputs --------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuybackLine:
    """One buy-back finished in the period: stable in minor units, tokens in wei."""

    id: str
    venue: str
    spent: int
    tokens_received: int
    reference: Fraction  # stable minor units per token wei, the guard's independent price
    reference_source: str
    tx_hashes: tuple[str, ...]
    client_order_id: str | None
    finished_at: datetime

    @property
    def average_price(self) -> Fraction:
        return average_price(self.spent, self.tokens_received)

    @property
    def slippage_bps(self) -> Fraction:
        """Tokens received short of the reference amount, in bps (negative: more received)."""
        expected = tokens_at_reference(self.spent, ReferencePrice(self.reference, self.reference_source))
        return slippage_bps(expected, self.tokens_received) if expected > 0 else Fraction(0)

    @property
    def proof(self) -> str:
        """Where to check it: the chain transaction(s), or the exchange's client order id."""
        if self.client_order_id:
            return f"order {self.client_order_id}"
        return " ".join(self.tx_hashes)


@dataclass(frozen=True)
class BurnLine:
    """One burn recorded in the token ledger in the period (wei)."""

    buyback_id: str
    burned: int
    dividend: int
    burn_tx_hash: str | None
    dividend_tx_hash: str | None
    burn_block: int | None
    finished_at: datetime | None


@dataclass(frozen=True)
class DayFigures:
    day: date
    commission: int = 0  # stable accrued
    spent: int = 0  # stable spent on buy-backs
    burned: int = 0  # token wei burned (ledger)
    dividend: int = 0  # token wei to the dividend pool (ledger)


@dataclass(frozen=True)
class LedgerFigures:
    """What PostgreSQL says about the period."""

    rounds_settled: int
    rounds_commission: int  # commission + dust of the settled rounds, from the rounds table
    rounds_commission_posted: int  # the same rounds' commission transfers in the ledger
    commission_accrued: int  # transfers into the commission pool in the period
    pool_opening: int
    pool_closing: int
    in_flight_opening: int
    in_flight_closing: int
    spent_posted: int  # buybacks:in_flight -> buybacks:spent transfers in the period
    burned_before: int  # token wei burned in the ledger before the period
    buybacks: tuple[BuybackLine, ...] = ()
    burns: tuple[BurnLine, ...] = ()
    days: tuple[DayFigures, ...] = ()

    @property
    def spent(self) -> int:
        """Stable spent by the buy-backs finished in the period (the buybacks table)."""
        return sum(b.spent for b in self.buybacks)

    @property
    def tokens_bought(self) -> int:
        return sum(b.tokens_received for b in self.buybacks)

    @property
    def burned(self) -> int:
        return sum(b.burned for b in self.burns)

    @property
    def dividends(self) -> int:
        return sum(b.dividend for b in self.burns)


@dataclass(frozen=True)
class TokenEvent:
    """A burn (Transfer to 0x0) or a DividendPool deposit seen on chain."""

    tx_hash: str
    block: int
    amount: int
    timestamp: datetime | None = None
    sender: str | None = None  # a burn's `from`: whose tokens were burned (None: not read)
    log_index: int = 0  # its place in the block, to order burns of the same block


@dataclass(frozen=True)
class ChainFigures:
    """What the chain says, between the end of `start_block` and the end of `end_block`.

    Any holder can burn the token (ERC20Burnable), so the burns come in two sets: `burns`,
    the technical wallet's (Transfer from `wallet` to 0x0), which are what the ledger
    records, and `other_burns`, everyone else's, which lower the supply but are not Ember's.
    """

    start_block: int
    end_block: int
    supply_start: int
    supply_end: int
    minted: int  # totalSupply when the token was created (fixed supply: never minted again)
    burns: tuple[TokenEvent, ...] = ()  # the wallet's burns
    deposits: tuple[TokenEvent, ...] = ()
    start_time: datetime | None = None  # timestamps of the stated blocks
    end_time: datetime | None = None
    other_burns: tuple[TokenEvent, ...] = ()  # burns of every other holder
    wallet: str | None = None  # the technical wallet's address, whose burns are `burns`

    @property
    def supply_fall(self) -> int:
        return self.supply_start - self.supply_end

    @property
    def wallet_burned(self) -> int:
        """Token wei the technical wallet burned on chain."""
        return sum(e.amount for e in self.burns)

    @property
    def others_burned(self) -> int:
        """Token wei other holders burned on chain: information, not Ember's."""
        return sum(e.amount for e in self.other_burns)

    @property
    def all_burns(self) -> tuple[TokenEvent, ...]:
        """Every burn on chain, the wallet's and other holders', in chain order."""
        return tuple(sorted((*self.burns, *self.other_burns),
                            key=lambda e: (e.block, e.log_index)))

    @property
    def burn_events_total(self) -> int:
        """Token wei burned on chain by anyone: what the supply must have fallen by."""
        return self.wallet_burned + self.others_burned

    @property
    def deposits_total(self) -> int:
        return sum(e.amount for e in self.deposits)


# -- the report ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """One reconciliation: `left` must equal `right`, both in `unit`."""

    name: str
    left_label: str
    left: int
    right_label: str
    right: int
    unit: str  # "USDT minor units" | "token wei"

    @property
    def ok(self) -> bool:
        return self.left == self.right

    @property
    def difference(self) -> int:
        return self.left - self.right


@dataclass(frozen=True)
class Mismatch:
    """A difference found by a check, or one transaction seen on one side only."""

    check: str
    detail: str
    expected: int  # the ledger's side
    actual: int  # the other side (chain, or the other table)
    unit: str
    reference: str | None = None  # a tx hash or buy-back id

    @property
    def difference(self) -> int:
        return self.expected - self.actual


STABLE, WEI = "USDT minor units", "token wei"


@dataclass(frozen=True)
class SupplyPoint:
    block: int
    timestamp: datetime | None
    supply: int


@dataclass(frozen=True)
class BurnReport:
    period: Period
    generated_at: datetime
    ledger: LedgerFigures
    chain: ChainFigures
    checks: tuple[Check, ...]
    item_mismatches: tuple[Mismatch, ...] = field(default=())

    @property
    def mismatches(self) -> list[Mismatch]:
        """Every difference, the totals first, then each transaction seen on one side only."""
        totals = [Mismatch(c.name, f"{c.left_label} ≠ {c.right_label}", c.left, c.right, c.unit)
                  for c in self.checks if not c.ok]
        return totals + list(self.item_mismatches)

    @property
    def reconciled(self) -> bool:
        return not self.mismatches

    @property
    def cumulative_burned(self) -> int:
        """Token wei burned since the token was created, up to the end of the period (chain)."""
        return self.chain.minted - self.chain.supply_end

    @property
    def net_deflation(self) -> Fraction:
        """The fall in total supply over the period, as a fraction of the supply at its start."""
        if self.chain.supply_start == 0:
            return Fraction(0)
        return Fraction(self.chain.supply_fall, self.chain.supply_start)

    def supply_series(self) -> list[SupplyPoint]:
        """Total supply at the period's start, after each burn on chain (the wallet's and
        other holders', in chain order), and at its end."""
        points = [SupplyPoint(self.chain.start_block, self.chain.start_time, self.chain.supply_start)]
        supply = self.chain.supply_start
        for event in self.chain.all_burns:
            supply -= event.amount
            points.append(SupplyPoint(event.block, event.timestamp, supply))
        points.append(SupplyPoint(self.chain.end_block, self.chain.end_time, self.chain.supply_end))
        return points


def build_report(period: Period, ledger: LedgerFigures, chain: ChainFigures, *,
                 generated_at: datetime) -> BurnReport:
    """The report of `period`, with every reconciliation checked."""
    return BurnReport(period, generated_at, ledger, chain, reconcile(ledger, chain),
                      tuple(unmatched_transactions(ledger, chain)))


def reconcile(ledger: LedgerFigures, chain: ChainFigures) -> tuple[Check, ...]:
    """The period's totals, each from two independent sources.

    The ledger's burns are the technical wallet's, so they compare with the wallet's burn
    events; the fall in supply compares with every burn event, other holders' included
    (the token has a fixed supply: nothing but burns lowers it). Other holders' burns are
    shown beside the checks, never as a difference."""
    pool_change = ledger.pool_closing - ledger.pool_opening
    in_flight_change = ledger.in_flight_closing - ledger.in_flight_opening
    return (
        Check("commission", "commission accrued", ledger.commission_accrued,
              "spent on buy-backs + change in the pool + change in flight",
              ledger.spent + pool_change + in_flight_change, STABLE),
        Check("rounds_commission", "commission of the rounds settled", ledger.rounds_commission,
              "their commission transfers in the ledger", ledger.rounds_commission_posted, STABLE),
        Check("buybacks_spent", "spent by the buy-backs", ledger.spent,
              "buybacks:spent transfers in the ledger", ledger.spent_posted, STABLE),
        Check("burned", "burned in the ledger", ledger.burned,
              "the wallet's burns (Transfer from the wallet to 0x0) on chain",
              chain.wallet_burned, WEI),
        Check("burn_events", "fall in total supply on chain", chain.supply_fall,
              "all burns (Transfer to 0x0) on chain, the wallet's and other holders'",
              chain.burn_events_total, WEI),
        Check("dividends", "dividends in the ledger", ledger.dividends,
              "DividendPool deposits on chain", chain.deposits_total, WEI),
    )


def unmatched_transactions(ledger: LedgerFigures, chain: ChainFigures) -> list[Mismatch]:
    """Burns and deposits on one side only, or with another amount, by transaction hash.

    The ledger's burns are matched with the technical wallet's burns only: a wallet burn
    the ledger does not know is a mismatch, another holder's burn is not."""
    found: list[Mismatch] = []
    others = {e.tx_hash.lower() for e in chain.other_burns}
    for name, recorded, events in (
            ("burned", {b.burn_tx_hash: b.burned for b in ledger.burns if b.burned > 0}, chain.burns),
            ("dividends", {b.dividend_tx_hash: b.dividend for b in ledger.burns if b.dividend > 0},
             chain.deposits)):
        seen: dict[str, int] = {}
        for event in events:
            seen[event.tx_hash.lower()] = seen.get(event.tx_hash.lower(), 0) + event.amount
        ledger_side = {(tx or "").lower(): amount for tx, amount in recorded.items()}
        for tx, amount in sorted(ledger_side.items()):
            if seen.get(tx, 0) != amount:
                what = "not on chain" if tx not in seen else "another amount on chain"
                if name == "burned" and tx not in seen and tx in others:
                    what = "on chain a burn by another holder, not the wallet"
                found.append(Mismatch(name, f"in the ledger, {what}", amount, seen.get(tx, 0),
                                      WEI, tx or None))
        for tx, amount in sorted(seen.items()):
            if tx not in ledger_side:
                found.append(Mismatch(name, "on chain, not in the ledger", 0, amount, WEI, tx))
    return found


def decimal_text(value: Fraction, digits: int) -> str:
    """`value` as a decimal string with at most `digits` places, rounded half away from zero."""
    scale = 10**digits
    scaled = abs(value) * scale
    whole = scaled.numerator // scaled.denominator
    if (scaled - whole) * 2 >= 1:
        whole += 1
    sign = "-" if value < 0 and whole else ""
    text = f"{whole // scale}.{whole % scale:0{digits}d}" if digits else str(whole)
    return sign + (text.rstrip("0").rstrip(".") if digits else text)


def fraction_text(value: Fraction) -> str:
    """An exact fraction for machines: `n/d` (or `n`)."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
