"""The double-entry ledger in PostgreSQL: transfers, deposits and withdrawals."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import errors

from ember.domain import ledger as accounts
from ember.domain.errors import (
    DuplicateConflict,
    InsufficientFunds,
    WithdrawalNotFound,
    WithdrawalNotPending,
)
from ember.domain.ledger import Transfer
from ember.domain.money import CURRENCY
from ember.domain.protection import Exposure, Limit

from . import protection
from .database import Database, violated

_INSERT_TRANSFER = """
INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind, reference)
VALUES (%(id)s, %(debit)s, %(credit)s, %(currency)s, %(amount)s, %(kind)s, %(reference)s)
ON CONFLICT (id) DO NOTHING
RETURNING id
"""


@dataclass(frozen=True)
class DepositContext:
    limits: list[Limit]
    exposure: Exposure
    excluded_until: datetime | None


Allow = Callable[[DepositContext], None]  # raises to refuse a deposit


@dataclass(frozen=True)
class Deposit:
    external_id: str
    player_id: str
    amount: int
    balance: int
    replayed: bool


@dataclass(frozen=True)
class Withdrawal:
    id: uuid.UUID
    player_id: str
    amount: int
    status: str
    requested_at: datetime
    finished_at: datetime | None


def ensure_player_account(conn: psycopg.Connection, player_id: str) -> None:
    conn.execute(
        "INSERT INTO accounts (id, kind, currency, balance) VALUES (%s, 'player', %s, 0)"
        " ON CONFLICT DO NOTHING",
        (accounts.player_account(player_id), CURRENCY),
    )


def post(conn: psycopg.Connection, transfer: Transfer) -> bool:
    """True when the transfer was written now, False when this exact transfer already was.

    The same id with different content is a DuplicateConflict, and a transfer that would
    overdraw a player is InsufficientFunds: the database refused it either way.
    """
    params = {**transfer.__dict__, "id": transfer.id}
    try:
        with conn.transaction():
            inserted = conn.execute(_INSERT_TRANSFER, params).fetchone() is not None
    except errors.CheckViolation as error:
        if violated(error) == "accounts_balance_check":
            raise InsufficientFunds("balance too low", account=transfer.debit) from None
        raise
    if not inserted and _stored(conn, transfer.id) != transfer:
        raise DuplicateConflict("transfer id already used for another transfer", id=str(transfer.id))
    return inserted


def _stored(conn: psycopg.Connection, transfer_id: uuid.UUID) -> Transfer | None:
    row = conn.execute(
        "SELECT id, debit_account AS debit, credit_account AS credit, amount, kind, reference, currency"
        " FROM transfers WHERE id = %s", (transfer_id,),
    ).fetchone()
    return Transfer(**row) if row else None


def player_balance(conn: psycopg.Connection, player_id: str) -> int:
    row = conn.execute(
        "SELECT balance FROM accounts WHERE id = %s", (accounts.player_account(player_id),)
    ).fetchone()
    return row["balance"] if row else 0


class PostgresLedger:
    """Deposits, withdrawals and balances; each call is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def balance(self, player_id: str) -> int:
        return self.db.run(lambda conn: player_balance(conn, player_id))

    def deposit(self, external_id: str, player_id: str, amount: int, now: datetime,
                allow: Allow | None = None) -> Deposit:
        """The player's credit for one external payment; a repeat of it credits nothing.

        `allow` sees the player's limits, exclusion and exposure (under the player's lock)
        and raises to refuse a new payment; a repeat is answered without asking it.
        """
        return self.db.run(lambda conn: self._deposit(conn, external_id, player_id, amount, now,
                                                      allow))

    def _deposit(self, conn: psycopg.Connection, external_id: str, player_id: str, amount: int,
                 now: datetime, allow: Allow | None) -> Deposit:
        ensure_player_account(conn, player_id)
        conn.execute("SELECT 1 FROM accounts WHERE id = %s FOR UPDATE",
                     (accounts.player_account(player_id),))
        transfer = Transfer(accounts.deposit_transfer_id(external_id), accounts.EXTERNAL,
                            accounts.player_account(player_id), amount, "deposit", external_id)
        seen = _stored(conn, transfer.id)
        if seen is None and allow is not None:
            allow(DepositContext(protection.limits(conn, player_id),
                                 protection.exposure(conn, player_id, now),
                                 protection.excluded_until(conn, player_id, now)))
        try:
            fresh = post(conn, transfer)
        except DuplicateConflict:
            raise DuplicateConflict("payment id already credited with other details",
                                    external_id=external_id) from None
        if fresh:
            conn.execute(
                "INSERT INTO deposits (external_id, player_id, amount, transfer_id, received_at)"
                " VALUES (%s, %s, %s, %s, %s)", (external_id, player_id, amount, transfer.id, now),
            )
        return Deposit(external_id, player_id, amount, player_balance(conn, player_id), not fresh)

    def request_withdrawal(self, withdrawal_id: uuid.UUID, player_id: str, amount: int,
                           now: datetime | None = None) -> Withdrawal:
        """The held withdrawal; funds leave the player's balance now, the world later."""
        def work(conn: psycopg.Connection) -> Withdrawal:
            ensure_player_account(conn, player_id)
            row = conn.execute(
                "INSERT INTO withdrawals (id, player_id, amount, status, requested_at)"
                " VALUES (%s, %s, %s, 'requested', coalesce(%s, now()))"
                " ON CONFLICT (id) DO NOTHING RETURNING *", (withdrawal_id, player_id, amount, now),
            ).fetchone()
            if row is None:
                existing = _withdrawal(conn, withdrawal_id)
                if (existing.player_id, existing.amount) != (player_id, amount):
                    raise DuplicateConflict("withdrawal id already used", id=str(withdrawal_id))
                return existing
            post(conn, Transfer(withdrawal_id, accounts.player_account(player_id),
                                accounts.WITHDRAWALS, amount, "withdrawal_hold", str(withdrawal_id)))
            return Withdrawal(**row)
        return self.db.run(work)

    def finish_withdrawal(self, withdrawal_id: uuid.UUID, *, paid: bool,
                          now: datetime | None = None) -> Withdrawal:
        """The withdrawal paid out (to the world) or cancelled (back to the player); once."""
        status = "paid" if paid else "cancelled"

        def work(conn: psycopg.Connection) -> Withdrawal:
            current = _withdrawal(conn, withdrawal_id, lock=True)
            if current.status == status:
                return current
            if current.status != "requested":
                raise WithdrawalNotPending(f"withdrawal is {current.status}", id=str(withdrawal_id))
            to = accounts.EXTERNAL if paid else accounts.player_account(current.player_id)
            post(conn, Transfer(accounts.withdrawal_settlement_id(withdrawal_id, paid),
                                accounts.WITHDRAWALS, to, current.amount, f"withdrawal_{status}",
                                str(withdrawal_id)))
            row = conn.execute(
                "UPDATE withdrawals SET status = %s, finished_at = coalesce(%s, now())"
                " WHERE id = %s RETURNING *", (status, now, withdrawal_id),
            ).fetchone()
            return Withdrawal(**row)
        return self.db.run(work)

    def withdrawals(self, player_id: str) -> list[Withdrawal]:
        rows = self.db.run(lambda conn: conn.execute(
            "SELECT * FROM withdrawals WHERE player_id = %s ORDER BY requested_at DESC",
            (player_id,)).fetchall())
        return [Withdrawal(**row) for row in rows]


def _withdrawal(conn: psycopg.Connection, withdrawal_id: uuid.UUID, lock: bool = False) -> Withdrawal:
    suffix = " FOR UPDATE" if lock else ""
    row = conn.execute(f"SELECT * FROM withdrawals WHERE id = %s{suffix}", (withdrawal_id,)).fetchone()
    if row is None:
        raise WithdrawalNotFound("no such withdrawal", id=str(withdrawal_id))
    return Withdrawal(**row)
