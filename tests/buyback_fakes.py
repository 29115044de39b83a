"""In-memory fakes of the buy-back and burn ports, with crash points.

A crash point is a step name in `crashes`; the step raises Crash once when it is reached,
after (for `after_*` points) or before the side effect it names, as a process dying there
would. Stable is in minor units (USDT, 6 decimals), tokens in wei; the fake price is 1 USDT
per token, so one minor unit buys 10**12 wei.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from ember.domain.burn_split import split_burn
from ember.domain.buyback import BuybackPolicy, BuyPlan, ReferencePrice, plan_buy
from ember.services.buyback_ports import (
    Buyback,
    BuyRefused,
    ChainWrite,
    PendingBurn,
    PoolState,
    Purchase,
)

WEI_PER_MINOR = 10**12
USDT = 10**6  # minor units per USDT


class Crash(RuntimeError):
    """A process dying at a crash point."""


class CrashPoints:
    def __init__(self, *points: str) -> None:
        self.crashes = set(points)

    def reached(self, point: str) -> None:
        if point in self.crashes:
            self.crashes.discard(point)
            raise Crash(point)


def tx_hash(*parts: object) -> str:
    return "0x" + uuid.uuid5(uuid.NAMESPACE_OID, ":".join(map(str, parts))).hex * 2


def policy(**changes) -> BuybackPolicy:
    values = dict(threshold=100 * USDT, max_delay=timedelta(hours=1), per_buy_cap=1000 * USDT,
                  daily_cap=10_000 * USDT, tranche_size=500 * USDT,
                  tranche_interval=timedelta(minutes=5), max_slippage_bps=100,
                  max_pool_deviation_bps=200)
    values.update(changes)
    return BuybackPolicy(**values)


class FakeRoute(CrashPoints):
    """A venue that buys at `rate` wei per minor unit; idempotent by buy-back id."""

    def __init__(self, kind: str = "dex", rate: int = WEI_PER_MINOR, *points: str) -> None:
        super().__init__(*points)
        self.kind = kind
        self.rate = rate
        self.purchases: dict[uuid.UUID, Purchase] = {}
        self.sent = 0  # buys that reached the venue
        self.refuse: str | None = None
        self.on_buy = lambda buyback_id: None

    def quote(self, spend: int) -> int:
        return spend * self.rate

    def buy(self, buyback_id: uuid.UUID, spend: int, min_tokens_out: int) -> Purchase:
        self.reached("before_buy")
        if self.refuse:
            raise BuyRefused("the venue said no", code=self.refuse)
        if buyback_id not in self.purchases:
            tokens = spend * self.rate
            if tokens < min_tokens_out:
                raise BuyRefused("INSUFFICIENT_OUTPUT_AMOUNT", code="slippage_exceeded")
            self.purchases[buyback_id] = Purchase(tokens, (tx_hash("swap", buyback_id),))
            self.sent += 1
        self.reached("after_buy")
        self.on_buy(buyback_id)
        return self.purchases[buyback_id]


@dataclass
class FakePool:
    stable: int = 1_000_000 * USDT
    tokens: int = 1_000_000 * 10**18

    def reserves(self) -> tuple[int, int]:
        return self.stable, self.tokens


@dataclass
class FakePrices:
    price: ReferencePrice = field(default_factory=lambda: ReferencePrice(
        Fraction(1, WEI_PER_MINOR), "test-reference"))

    def reference(self) -> ReferencePrice:
        return self.price


class FakeTokenActions(CrashPoints):
    """A token with a total supply, a wallet and a dividend pool; idempotent by buy-back id."""

    def __init__(self, supply: int = 10**9 * 10**18, *points: str) -> None:
        super().__init__(*points)
        self.block = 100
        self.supply_at: dict[int, int] = {self.block: supply}
        self.burns: dict[uuid.UUID, ChainWrite] = {}
        self.deposits: dict[uuid.UUID, ChainWrite] = {}
        self.burned = 0
        self.deposited = 0
        self.foreign_burn = 0  # someone else burns this much in our burn's block
        self.unburned = 0  # our burn's supply change falls short by this much
        self.misreported = 0  # our burn's logs show this much more than the supply change

    def _mine(self, supply_change: int) -> int:
        self.block += 1
        self.supply_at[self.block] = self.supply_at[self.block - 1] - supply_change
        return self.block

    def burn(self, buyback_id: uuid.UUID, amount: int) -> ChainWrite:
        self.reached("before_burn")
        if buyback_id not in self.burns:
            block = self._mine(amount + self.foreign_burn - self.unburned)
            self.burns[buyback_id] = ChainWrite(tx_hash("burn", buyback_id), block,
                                                burned=amount - self.unburned + self.misreported)
            self.burned += amount
        self.reached("after_burn")
        return self.burns[buyback_id]

    def deposit_dividend(self, buyback_id: uuid.UUID, amount: int) -> ChainWrite:
        self.reached("before_deposit")
        if buyback_id not in self.deposits:
            self.deposits[buyback_id] = ChainWrite(tx_hash("deposit", buyback_id), self._mine(0))
            self.deposited += amount
        self.reached("after_deposit")
        return self.deposits[buyback_id]

    def total_supply(self, block_number: int) -> int:
        known = max(b for b in self.supply_at if b <= block_number)
        return self.supply_at[known]


class FakeControls:
    def __init__(self) -> None:
        self.reason: str | None = None

    def halted(self) -> str | None:
        return self.reason


class FakeStore(CrashPoints):
    """The buy-back and burn stores in memory, with the ledger's accounts as counters."""

    def __init__(self, commission: int = 0, *points: str) -> None:
        super().__init__(*points)
        self.accrued = commission  # everything ever credited to the commission pool
        self.commission = commission
        self.in_flight = 0
        self.spent = 0
        self.rows: dict[uuid.UUID, dict] = {}
        self.tokens = {"wallet": 0, "burned": 0, "dividend_pool": 0, "bought": 0}
        self.burns: dict[uuid.UUID, dict] = {}
        self.events: list[tuple[str, uuid.UUID]] = []
        self.writes = 0

    def accrue(self, amount: int) -> None:
        self.accrued += amount
        self.commission += amount

    # BuybackStore
    def pool_state(self, now: datetime) -> PoolState:
        live = [r for r in self.rows.values() if r["status"] != "refused"]
        day = now.astimezone(UTC).date()
        return PoolState(self.commission,
                         max((r["buyback"].planned_at for r in live), default=None),
                         sum(r["buyback"].spend for r in live
                             if r["buyback"].planned_at.astimezone(UTC).date() == day))

    def plan(self, buyback: Buyback, policy: BuybackPolicy) -> bool:
        self.reached("plan")
        if buyback.id in self.rows:
            return True
        state = self.pool_state(buyback.planned_at)
        still = plan_buy(state.balance, state.last_buy_at, state.spent_today, buyback.planned_at,
                         policy)
        if not isinstance(still, BuyPlan) or still.amount < buyback.spend:
            return False
        self.writes += 1
        self.rows[buyback.id] = {"status": "planned", "buyback": buyback}
        self.commission -= buyback.spend
        self.in_flight += buyback.spend
        return True

    def planned(self) -> list[Buyback]:
        return sorted((r["buyback"] for r in self.rows.values() if r["status"] == "planned"),
                      key=lambda b: b.planned_at)

    def mark_bought(self, buyback_id: uuid.UUID, purchase: Purchase, now: datetime) -> None:
        self.reached("mark_bought")
        row = self.rows[buyback_id]
        if row["status"] == "bought":
            return
        assert row["status"] == "planned"
        assert purchase.tokens_received >= row["buyback"].min_tokens_out
        self.writes += 1
        row.update(status="bought", purchase=purchase)
        self.in_flight -= row["buyback"].spend
        self.spent += row["buyback"].spend
        self.tokens["bought"] += purchase.tokens_received
        self.tokens["wallet"] += purchase.tokens_received
        self.events.append(("tokens.bought", buyback_id))

    def mark_refused(self, buyback_id: uuid.UUID, code: str, detail: str, now: datetime) -> None:
        row = self.rows[buyback_id]
        if row["status"] == "refused":
            return
        assert row["status"] == "planned"
        self.writes += 1
        row.update(status="refused", code=code)
        self.in_flight -= row["buyback"].spend
        self.commission += row["buyback"].spend

    def record_refused(self, buyback: Buyback, code: str, detail: str) -> None:
        self.writes += 1
        self.rows[buyback.id] = {"status": "refused", "buyback": buyback, "code": code}

    def status(self, status: str) -> list[dict]:
        return [r for r in self.rows.values() if r["status"] == status]

    # BurnStore
    def open_burn(self, buyback_id: uuid.UUID, burn_share_bps: int) -> None:
        """As the burn consumer's effect does, once per buy-back."""
        if buyback_id in self.burns:
            return
        split = split_burn(self.rows[buyback_id]["purchase"].tokens_received, burn_share_bps)
        self.burns[buyback_id] = {"status": "pending", "burn": split.burn,
                                  "dividend": split.dividend}

    def pending_burns(self) -> list[PendingBurn]:
        return [PendingBurn(i, b["burn"], b["dividend"]) for i, b in self.burns.items()
                if b["status"] == "pending"]

    def finish_burn(self, buyback_id: uuid.UUID, burn: ChainWrite | None,
                    dividend: ChainWrite | None, supply: tuple[int, int] | None,
                    now: datetime) -> None:
        self.reached("finish_burn")
        row = self.burns[buyback_id]
        if row["status"] == "done":
            return
        assert (burn is None) == (row["burn"] == 0) and (dividend is None) == (row["dividend"] == 0)
        assert supply is None or supply[0] - supply[1] >= row["burn"]  # others may burn too
        row.update(status="done", burn_tx=burn, dividend_tx=dividend)
        self.tokens["wallet"] -= row["burn"] + row["dividend"]
        self.tokens["burned"] += row["burn"]
        self.tokens["dividend_pool"] += row["dividend"]
        self.events.append(("tokens.burned", buyback_id))

    def assert_conserved(self) -> None:
        assert self.accrued == self.commission + self.in_flight + self.spent
        assert min(self.commission, self.in_flight, self.spent) >= 0
        t = self.tokens
        assert t["bought"] == t["burned"] + t["dividend_pool"] + t["wallet"]
        assert t["wallet"] >= 0
