"""Ledger vocabulary: account names, transfer kinds and the ids that make retries no-ops."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .money import CURRENCY

EXTERNAL = "external"  # the world outside: source of deposits, sink of paid withdrawals
COMMISSION = "commission"  # the commission pool buy-backs spend
WITHDRAWALS = "withdrawals"  # funds held for requested withdrawals

_DEPOSIT_NAMESPACE = uuid.UUID("0b8e3f0e-53a4-4b9e-9a0c-4a3c1d1f2e11")
_WITHDRAWAL_NAMESPACE = uuid.UUID("5c7d1a2b-7f4e-4d8a-b6a1-0f2e3d4c5b60")


MAX_PLAYER_ID = 128


def is_player_id(value: object) -> bool:
    """Whether `value` can name a player: 1-128 printable characters without ':', which
    separates an account's kind from its owner."""
    return (isinstance(value, str) and 0 < len(value) <= MAX_PLAYER_ID and ":" not in value
            and value.isprintable())


def player_account(player_id: str) -> str:
    return f"player:{player_id}"


def round_pool(round_id: uuid.UUID | str) -> str:
    return f"round:{round_id}"


@dataclass(frozen=True)
class Transfer:
    """Move `amount` from `debit` to `credit`; balanced by construction."""

    id: uuid.UUID
    debit: str
    credit: str
    amount: int
    kind: str
    reference: str | None = None
    currency: str = CURRENCY


def deposit_transfer_id(external_id: str) -> uuid.UUID:
    """One payment id, one credit: the transfer id is derived from it."""
    return uuid.uuid5(_DEPOSIT_NAMESPACE, external_id)


def withdrawal_settlement_id(withdrawal_id: uuid.UUID, paid: bool) -> uuid.UUID:
    """The id of the transfer that pays out or releases a held withdrawal."""
    return uuid.uuid5(_WITHDRAWAL_NAMESPACE, f"{withdrawal_id}:{'paid' if paid else 'cancelled'}")
