"""The outbox: events inserted in the same transaction as the change they announce."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import psycopg
from psycopg.types.json import Jsonb

from ember.domain import events
from ember.domain.money import CURRENCY
from ember.domain.rounds import Round

if TYPE_CHECKING:
    from .rounds import ResolvedRound


def add(conn: psycopg.Connection, event: events.Event) -> None:
    conn.execute(
        "INSERT INTO outbox (id, topic, key, type, version, occurred_at, payload)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (event.id, event.topic, event.key, event.type, event.version, event.occurred_at,
         Jsonb(event.payload)),
    )


def announce_resolution(conn: psycopg.Connection, round_: Round, resolved: ResolvedRound,
                        now: datetime) -> None:
    """round.settled | round.refunded, and commission.accrued when commission moved."""
    totals = {"total": resolved.total, "paid_out": resolved.paid_out,
              "refunded": resolved.refunded, "commission": resolved.commission}
    add(conn, events.round_resolved(round_.id, round_.market_id, resolved.status,
                                    resolved.outcome, totals, now))
    if resolved.commission > 0:
        add(conn, events.commission_accrued(round_.id, round_.market_id, resolved.commission,
                                            CURRENCY, now))
