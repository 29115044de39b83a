"""What the buy-back and burn use cases need from the outside world, as small interfaces.

The chain adapters (web3: Uniswap router, token, dividend pool, all through transaction
intents) and the exchange adapter (ccxt) implement them; unit tests use fakes. Amounts:
stable in minor units (int), tokens in wei (int). Every method that moves money or tokens
takes the buy-back id and is idempotent by it: calling it again after a crash returns the
first result and never spends, buys, burns or deposits twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ember.domain.buyback import BuybackPolicy, ReferencePrice
from ember.domain.errors import EmberError


@dataclass(frozen=True)
class Purchase:
    """Tokens that reached the technical wallet for one buy-back."""

    tokens_received: int  # wei, as the chain shows them arriving in the wallet
    tx_hashes: tuple[str, ...]  # the swap (DEX) or the withdrawal (CEX), 0x-hex
    client_order_id: str | None = None  # CEX only
    # Stable the venue actually took, when less than the spend (a CEX fills whole lots and
    # leaves change); None: all of it (a DEX exact-input swap).
    stable_spent: int | None = None


@dataclass(frozen=True)
class ChainWrite:
    """A mined transaction of the technical wallet."""

    tx_hash: str  # 0x-hex
    block_number: int
    # For a burn: the token's Transfer events from the wallet to the zero address in this
    # transaction's own logs, in wei (0 for other transactions).
    burned: int = 0


class BuyRoute(Protocol):
    """A venue the wallet can buy the token on (`dex` or `cex`)."""

    kind: str

    def quote(self, spend: int) -> int:
        """Tokens the wallet would end up with for `spend`, after every fee (0: no liquidity)."""

    def buy(self, buyback_id: uuid.UUID, spend: int, min_tokens_out: int) -> Purchase:
        """Buys for `spend` and returns once the tokens are in the wallet; idempotent by id.

        Raises when the venue refuses (e.g. the swap would return less than
        `min_tokens_out`); a refusal moves nothing.
        """


class PoolPrice(Protocol):
    def reserves(self) -> tuple[int, int]:
        """The DEX pool's (stable, token) reserves now, for the spot-price check."""


class PriceSource(Protocol):
    def reference(self) -> ReferencePrice:
        """A price independent of the DEX pool (CEX ticker, or a configured source)."""


class TokenActions(Protocol):
    def burn(self, buyback_id: uuid.UUID, amount: int) -> ChainWrite:
        """Burns `amount` wei from the wallet (ERC20 burn); idempotent by id."""

    def deposit_dividend(self, buyback_id: uuid.UUID, amount: int) -> ChainWrite:
        """Approves and deposits `amount` into the DividendPool; idempotent by id."""

    def total_supply(self, block_number: int) -> int:
        """The token's totalSupply at the end of `block_number`."""


class Controls(Protocol):
    def halted(self) -> str | None:
        """Why buy-backs and burns are halted (kill switch), or None when they may run."""


class BuyRefused(EmberError):
    """A venue definitely refused a buy and moved nothing (a route raises it); the buy-back
    is recorded as refused and its hold goes back to the commission pool.

    Anything else a route raises is not definite (timeout, node down): the buy-back stays
    planned and the next run asks the route again with the same id.
    """

    code = "buy_refused"
    status = 409

    def __init__(self, detail: str = "", *, code: str | None = None, **context: object) -> None:
        super().__init__(detail, **context)
        if code:
            self.code = code


# The store the buy-back and burn use cases write through (PostgreSQL; fakes in unit tests).

@dataclass(frozen=True)
class PoolState:
    """The commission pool as `plan_buy` needs it."""

    balance: int  # stable minor units waiting in the commission pool
    last_buy_at: datetime | None  # the last buy-back planned or bought (refusals do not count)
    spent_today: int  # what buy-backs planned or bought in the UTC day of `now` spend


@dataclass(frozen=True)
class Buyback:
    """One buy-back as planned (venue and min_tokens_out are None only on a guard refusal)."""

    id: uuid.UUID
    venue: str | None  # "dex" | "cex": the kind of the route that buys
    spend: int  # stable minor units
    currency: str
    reference: ReferencePrice
    min_tokens_out: int | None  # token wei
    planned_at: datetime


@dataclass(frozen=True)
class PendingBurn:
    """Tokens of one buy-back waiting to be burned and deposited."""

    buyback_id: uuid.UUID
    burn: int  # token wei to burn
    dividend: int  # token wei to deposit into the DividendPool


class BuybackStore(Protocol):
    def pool_state(self, now: datetime) -> PoolState: ...

    def plan(self, buyback: Buyback, policy: BuybackPolicy) -> bool:
        """Records a planned buy-back and holds its spend; False when the pool state changed
        since `buyback` was planned and it no longer fits. A retry of the same id is True."""

    def planned(self) -> list[Buyback]:
        """Buy-backs planned and not finished, oldest first (a crash left them)."""

    def mark_bought(self, buyback_id: uuid.UUID, purchase: Purchase, now: datetime) -> None: ...

    def mark_refused(self, buyback_id: uuid.UUID, code: str, detail: str, now: datetime) -> None: ...

    def record_refused(self, buyback: Buyback, code: str, detail: str) -> None:
        """A buy-back the guard refused before planning it: recorded, nothing held."""


class BurnStore(Protocol):
    def pending_burns(self) -> list[PendingBurn]: ...

    def finish_burn(self, buyback_id: uuid.UUID, burn: ChainWrite | None,
                    dividend: ChainWrite | None, supply: tuple[int, int] | None,
                    now: datetime) -> None:
        """Marks the burn done; `supply` is totalSupply (before, after) the burn's block."""
