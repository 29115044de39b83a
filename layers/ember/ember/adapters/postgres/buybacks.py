"""Buy-backs in PostgreSQL: the commission pool's state, planned/bought/refused buy-backs,
their stable through the ledger and their tokens through the token ledger, and the kill switch.

Stable: commission ──plan──► buybacks:in_flight ──bought──► buybacks:spent, or back to
commission when refused. Every transfer id is derived from the buy-back id (uuid5), so a
retried call writes nothing twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from decimal import Decimal
from fractions import Fraction
from typing import Any

import psycopg
from aws_lambda_powertools import Logger

from ember.domain import events
from ember.domain import ledger as accounts
from ember.domain.buyback import (
    BuybackPolicy,
    BuyPlan,
    ReferencePrice,
    plan_buy,
    slippage_bps,
    tokens_at_reference,
)
from ember.domain.ledger import Transfer
from ember.domain.money import MINOR_UNITS_PER_MAJOR
from ember.services.buyback_ports import Buyback, PoolState, Purchase

from . import outbox
from .database import Database
from .ledger import post

IN_FLIGHT = "buybacks:in_flight"
SPENT = "buybacks:spent"
TOKEN_WEI_PER_TOKEN = 10**18
# Plans are made one at a time: two runners at once (one per Kafka partition) must not
# both spend the same pool, day or tranche.
PLAN_LOCK = 0x656D6265725F6262  # "ember_bb"
_PRICE_DIGITS = 18

logger = Logger(service="ember", child=True)


def transfer_id(buyback_id: uuid.UUID, step: str) -> uuid.UUID:
    """The id of a buy-back's ledger or token transfer for `step` (hold, spent, released, ...)."""
    return uuid.uuid5(buyback_id, f"buyback.{step}")


def commission_balance(conn: psycopg.Connection) -> int:
    """What the commission pool holds now, from its transfers."""
    row = conn.execute(
        "SELECT coalesce((SELECT sum(amount) FROM transfers WHERE credit_account = %(a)s), 0)"
        " - coalesce((SELECT sum(amount) FROM transfers WHERE debit_account = %(a)s), 0) AS b",
        {"a": accounts.COMMISSION}).fetchone()
    return int(row["b"])


def pool_state(conn: psycopg.Connection, now: datetime) -> PoolState:
    day_start = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    row = conn.execute(
        "SELECT max(planned_at) AS last_buy_at,"
        " coalesce(sum(spend) FILTER (WHERE planned_at >= %s), 0) AS spent_today"
        " FROM buybacks WHERE status <> 'refused'", (day_start,)).fetchone()
    return PoolState(commission_balance(conn), row["last_buy_at"], int(row["spent_today"]))


def price_per_token(stable_per_wei: Fraction) -> str:
    """Stable minor units per token wei as USDT per whole token, a decimal string (floored)."""
    per_token = stable_per_wei * TOKEN_WEI_PER_TOKEN / MINOR_UNITS_PER_MAJOR
    scaled = per_token.numerator * 10**_PRICE_DIGITS // per_token.denominator
    text = format(Decimal(scaled).scaleb(-_PRICE_DIGITS), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def tokens_bought(row: dict[str, Any], now: datetime) -> events.Event:
    """tokens.bought for a buy-back row that is now bought."""
    reference = Fraction(int(row["reference_num"]), int(row["reference_den"]))
    received, spend = int(row["tokens_received"]), int(row["spent"])
    expected = tokens_at_reference(spend, ReferencePrice(reference, row["reference_source"]))
    slippage = slippage_bps(expected, received) if expected > 0 else Fraction(0)
    buyback_id: uuid.UUID = row["id"]
    payload = {
        "buyback_id": str(buyback_id), "venue": row["venue"], "spent": spend,
        "currency": row["currency"], "tokens_received": str(received),
        "average_price": price_per_token(Fraction(spend, received)),
        "reference_price": price_per_token(reference), "slippage_bps": round(slippage),
        "tx_hashes": list(row["tx_hashes"]), "client_order_id": row["client_order_id"]}
    return events.Event(events.BUYBACKS_TOPIC, str(buyback_id), "tokens.bought", 1, now, payload,
                        id=uuid.uuid5(buyback_id, "tokens.bought"))


class PostgresBuybacks:
    """The buy-back store; each call is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def pool_state(self, now: datetime) -> PoolState:
        return self.db.run(lambda conn: pool_state(conn, now))

    def plan(self, buyback: Buyback, policy: BuybackPolicy) -> bool:
        def work(conn: psycopg.Connection) -> bool:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (PLAN_LOCK,))
            if _row(conn, buyback.id) is not None:
                return True
            state = pool_state(conn, buyback.planned_at)
            still = plan_buy(state.balance, state.last_buy_at, state.spent_today,
                             buyback.planned_at, policy)
            if not isinstance(still, BuyPlan) or still.amount < buyback.spend:
                return False
            _insert(conn, buyback, "planned")
            post(conn, Transfer(transfer_id(buyback.id, "hold"), accounts.COMMISSION, IN_FLIGHT,
                                buyback.spend, "buyback_hold", str(buyback.id)))
            return True
        return self.db.run(work)

    def planned(self) -> list[Buyback]:
        rows = self.db.run(lambda conn: conn.execute(
            "SELECT * FROM buybacks WHERE status = 'planned' ORDER BY planned_at, id").fetchall())
        return [_buyback(row) for row in rows]

    def mark_bought(self, buyback_id: uuid.UUID, purchase: Purchase, now: datetime) -> None:
        """in_flight → spent, market → wallet tokens, and tokens.bought; once."""
        def work(conn: psycopg.Connection) -> None:
            row = _row(conn, buyback_id, lock=True)
            if row is None or row["status"] == "refused":
                raise ValueError(f"buy-back {buyback_id} is not planned: cannot mark it bought")
            if row["status"] == "bought":
                return
            spend = int(row["spend"])
            spent = spend if purchase.stable_spent is None else purchase.stable_spent
            if not 0 < spent <= spend:
                raise ValueError(f"buy-back {buyback_id} spent {spent} of a {spend} spend")
            row = conn.execute(
                "UPDATE buybacks SET status = 'bought', tokens_received = %s, tx_hashes = %s,"
                " client_order_id = %s, spent = %s, finished_at = %s WHERE id = %s RETURNING *",
                (purchase.tokens_received, list(purchase.tx_hashes), purchase.client_order_id,
                 spent, now, buyback_id)).fetchone()
            post(conn, Transfer(transfer_id(buyback_id, "spent"), IN_FLIGHT, SPENT,
                                spent, "buyback_spent", str(buyback_id)))
            if spent < spend:  # the venue's change waits in the pool for the next buy
                post(conn, Transfer(transfer_id(buyback_id, "change"), IN_FLIGHT, accounts.COMMISSION,
                                    spend - spent, "buyback_change", str(buyback_id)))
            add_token_transfer(conn, transfer_id(buyback_id, "bought"), "market", "wallet",
                               purchase.tokens_received, "bought", buyback_id)
            outbox.add(conn, tokens_bought(row, now))
        self.db.run(work)

    def mark_refused(self, buyback_id: uuid.UUID, code: str, detail: str, now: datetime) -> None:
        """in_flight → commission: the venue refused, the spend waits for the next buy; once."""
        def work(conn: psycopg.Connection) -> None:
            row = _row(conn, buyback_id, lock=True)
            if row is None or row["status"] == "bought":
                raise ValueError(f"buy-back {buyback_id} is not planned: cannot refuse it")
            if row["status"] == "refused":
                return
            conn.execute("UPDATE buybacks SET status = 'refused', refused_code = %s,"
                         " refused_detail = %s, finished_at = %s WHERE id = %s",
                         (code, detail, now, buyback_id))
            post(conn, Transfer(transfer_id(buyback_id, "released"), IN_FLIGHT, accounts.COMMISSION,
                                int(row["spend"]), "buyback_released", str(buyback_id)))
        self.db.run(work)
        logger.warning("buyback_released", extra={"buyback_id": str(buyback_id), "code": code})

    def record_refused(self, buyback: Buyback, code: str, detail: str) -> None:
        """A refusal before planning (the guard): the row for reports; no stable moves."""
        self.db.run(lambda conn: _insert(conn, buyback, "refused", code, detail))

    def halted(self) -> str | None:
        """Why the operators' kill switch is on, or None."""
        row = self.db.run(lambda conn: conn.execute(
            "SELECT halted, reason FROM buyback_controls").fetchone())
        return (row["reason"] or "halted") if row and row["halted"] else None

    def set_halted(self, halted: bool, reason: str | None = None) -> None:
        self.db.run(lambda conn: conn.execute(
            "UPDATE buyback_controls SET halted = %s, reason = %s, changed_at = now()",
            (halted, reason if halted else None)))
        logger.warning("buybacks_kill_switch", extra={"halted": halted, "reason": reason})


def add_token_transfer(conn: psycopg.Connection, transfer: uuid.UUID, debit: str, credit: str,
                       amount: int, kind: str, buyback_id: uuid.UUID) -> None:
    """One move in the token ledger; the same id again is a no-op."""
    conn.execute(
        "INSERT INTO token_transfers (id, debit_account, credit_account, amount, kind, buyback_id)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (transfer, debit, credit, amount, kind, buyback_id))


def _insert(conn: psycopg.Connection, buyback: Buyback, status: str, code: str | None = None,
            detail: str | None = None) -> None:
    price = buyback.reference.stable_per_token
    conn.execute(
        "INSERT INTO buybacks (id, status, venue, spend, currency, reference_num, reference_den,"
        " reference_source, min_tokens_out, planned_at, refused_code, refused_detail, finished_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (buyback.id, status, buyback.venue, buyback.spend, buyback.currency, price.numerator,
         price.denominator, buyback.reference.source, buyback.min_tokens_out, buyback.planned_at,
         code, detail, buyback.planned_at if status != "planned" else None))


def _row(conn: psycopg.Connection, buyback_id: uuid.UUID, lock: bool = False) -> dict[str, Any] | None:
    suffix = " FOR UPDATE" if lock else ""
    return conn.execute(f"SELECT * FROM buybacks WHERE id = %s{suffix}", (buyback_id,)).fetchone()


def _buyback(row: dict[str, Any]) -> Buyback:
    reference = ReferencePrice(Fraction(int(row["reference_num"]), int(row["reference_den"])),
                               row["reference_source"])
    minimum = row["min_tokens_out"]
    return Buyback(row["id"], row["venue"], int(row["spend"]), row["currency"], reference,
                   None if minimum is None else int(minimum), row["planned_at"])
