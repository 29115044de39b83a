"""Burns in PostgreSQL: a bought buy-back's tokens split into burn and dividend, then done.

A burn is opened inside the burn consumer's inbox transaction (once per tokens.bought) and
finished after the chain confirmed it: wallet → burned and wallet → dividend_pool in the
token ledger, and tokens.burned in the outbox, in one transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg

from ember.domain import events
from ember.domain.burn_split import split_burn
from ember.services.buyback_ports import ChainWrite, PendingBurn

from . import outbox
from .buybacks import add_token_transfer, transfer_id
from .database import Database


def open_burn(conn: psycopg.Connection, buyback_id: uuid.UUID, tokens: int, burn_share_bps: int,
              now: datetime) -> PendingBurn:
    """The pending burn of a bought buy-back, split by `burn_share_bps`; opened once.

    ValueError when the buy-back is not bought with exactly `tokens` wei.
    """
    bought = conn.execute("SELECT tokens_received FROM buybacks WHERE id = %s AND status = 'bought'",
                          (buyback_id,)).fetchone()
    if bought is None or int(bought["tokens_received"]) != tokens:
        raise ValueError(f"buy-back {buyback_id} did not buy {tokens} wei")
    split = split_burn(tokens, burn_share_bps)
    conn.execute(
        "INSERT INTO burns (buyback_id, status, burned, dividend, burn_share_bps, created_at)"
        " VALUES (%s, 'pending', %s, %s, %s, %s) ON CONFLICT (buyback_id) DO NOTHING",
        (buyback_id, split.burn, split.dividend, burn_share_bps, now))
    row = conn.execute("SELECT * FROM burns WHERE buyback_id = %s", (buyback_id,)).fetchone()
    return _pending(row)


def tokens_burned(row: dict[str, Any], now: datetime) -> events.Event:
    """tokens.burned for a burn row that is now done."""
    buyback_id: uuid.UUID = row["buyback_id"]
    payload = {"buyback_id": str(buyback_id), "burned": str(int(row["burned"])),
               "dividend": str(int(row["dividend"])), "burn_tx_hash": row["burn_tx_hash"],
               "dividend_tx_hash": row["dividend_tx_hash"]}
    return events.Event(events.BURNS_TOPIC, str(buyback_id), "tokens.burned", 1, now, payload,
                        id=uuid.uuid5(buyback_id, "tokens.burned"))


class PostgresBurns:
    """The burn store; each call is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def pending_burns(self) -> list[PendingBurn]:
        rows = self.db.run(lambda conn: conn.execute(
            "SELECT * FROM burns WHERE status = 'pending' ORDER BY created_at, buyback_id").fetchall())
        return [_pending(row) for row in rows]

    def finish_burn(self, buyback_id: uuid.UUID, burn: ChainWrite | None,
                    dividend: ChainWrite | None, supply: tuple[int, int] | None,
                    now: datetime) -> None:
        """Done: the token ledger moves out of the wallet and tokens.burned is written; once."""
        def work(conn: psycopg.Connection) -> None:
            row = conn.execute("SELECT * FROM burns WHERE buyback_id = %s FOR UPDATE",
                               (buyback_id,)).fetchone()
            if row is None:
                raise ValueError(f"no burn for buy-back {buyback_id}")
            if row["status"] == "done":
                return
            before, after = supply if supply else (None, None)
            row = conn.execute(
                "UPDATE burns SET status = 'done', burn_tx_hash = %s, dividend_tx_hash = %s,"
                " burn_block = %s, supply_before = %s, supply_after = %s, finished_at = %s"
                " WHERE buyback_id = %s RETURNING *",
                (burn.tx_hash if burn else None, dividend.tx_hash if dividend else None,
                 burn.block_number if burn else None, before, after, now, buyback_id)).fetchone()
            for part, account in (("burned", "burned"), ("dividend", "dividend_pool")):
                if int(row[part]) > 0:
                    add_token_transfer(conn, transfer_id(buyback_id, part), "wallet", account,
                                       int(row[part]), part, buyback_id)
            outbox.add(conn, tokens_burned(row, now))
        self.db.run(work)


def _pending(row: dict[str, Any]) -> PendingBurn:
    return PendingBurn(row["buyback_id"], int(row["burned"]), int(row["dividend"]))
