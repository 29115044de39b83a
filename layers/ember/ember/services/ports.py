"""The collaborators services need, as small interfaces (adapters implement them)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ember.domain.events import Event
from ember.domain.markets import Market
from ember.domain.resolution import Resolution
from ember.domain.rounds import Round

if TYPE_CHECKING:
    from ember.adapters.postgres.bets import BetContext, BetDecision, HeldBet
    from ember.adapters.postgres.ledger import Deposit, DepositContext, Withdrawal
    from ember.adapters.postgres.rounds import ResolvedRound


class SaltSource(Protocol):
    def salt_for(self, round_id: uuid.UUID, now: datetime) -> str | None:
        """The public salt of a round, fixed only after its lock; None while unavailable."""


class Bets(Protocol):
    def hold(self, round_id: uuid.UUID, player_id: str, outcome: object, amount: object,
             idempotency_key: str, decide: Callable[[BetContext], BetDecision],
             now: datetime) -> HeldBet: ...


class Rounds(Protocol):
    def create(self, market: Market, open_at: datetime, seed: str, now: datetime) -> bool: ...
    def advance(self, now: datetime) -> tuple[int, int]: ...
    def due(self, now: datetime, limit: int = 100) -> list[uuid.UUID]: ...
    def resolve(self, rid: uuid.UUID,
                judge: Callable[[Round, dict[int, int], str], Resolution | None],
                now: datetime) -> ResolvedRound | None: ...


class Markets(Protocol):
    def active(self) -> list[Market]: ...


class Ledger(Protocol):
    def deposit(self, external_id: str, player_id: str, amount: int, now: datetime,
                allow: Callable[[DepositContext], None] | None = None) -> Deposit: ...
    def request_withdrawal(self, withdrawal_id: uuid.UUID, player_id: str, amount: int,
                           now: datetime | None = None) -> Withdrawal: ...
    def finish_withdrawal(self, withdrawal_id: uuid.UUID, *, paid: bool,
                          now: datetime | None = None) -> Withdrawal: ...


class PublishFailed(RuntimeError):
    """The broker did not acknowledge every event of a batch (down, slow, or refusing)."""


class Publisher(Protocol):
    def publish(self, batch: Sequence[Event]) -> None:
        """Returns once the broker has every event of `batch`; raises PublishFailed otherwise."""


class Outbox(Protocol):
    def publish_next(self, limit: int, publish: Callable[[list[Event]], None]) -> int | None:
        """How many of the oldest unpublished events `publish` took and were marked published;
        None when another relay is sweeping."""
