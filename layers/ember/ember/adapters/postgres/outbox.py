"""The outbox: events inserted in the same transaction as the change they announce, then
handed to a publisher in `seq` order and marked once the broker acknowledged them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

from ember.domain import events
from ember.domain.money import CURRENCY
from ember.domain.rounds import Round

from .database import Database

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


# One sweeper at a time per database: a second relay returns at once instead of publishing
# the same rows again, or a later batch overtaking an earlier one within a key.
SWEEP_LOCK = 0x656D6265725F6F62  # "ember_ob"; any constant no other advisory lock uses

_OLDEST_UNPUBLISHED = (
    "SELECT seq, id, topic, key, type, version, occurred_at, payload FROM outbox"
    " WHERE published_at IS NULL ORDER BY seq LIMIT %s")


def event_from_row(row: dict[str, Any]) -> events.Event:
    """The event an outbox row holds, as it was added."""
    return events.Event(row["topic"], row["key"], row["type"], row["version"], row["occurred_at"],
                        row["payload"], id=row["id"])


class PostgresOutbox:
    """Unpublished events, oldest first, for a relay to publish."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def publish_next(self, limit: int, publish: Callable[[list[events.Event]], None]) -> int | None:
        """How many of the oldest unpublished events `publish` took and were marked published;
        None when another relay holds the sweep lock.

        Lock, read, publish, mark: one transaction. When `publish` raises, nothing is marked.
        A process that dies after publishing and before committing leaves the rows to be
        published again: delivery is at least once, consumers dedupe on the event id.
        `seq` order is per-key order: the rows of one aggregate are written under that
        aggregate's row lock, so they commit in the order their `seq` was drawn.
        """
        def work(conn: psycopg.Connection) -> int | None:
            if not conn.execute("SELECT pg_try_advisory_xact_lock(%s) AS locked",
                                (SWEEP_LOCK,)).fetchone()["locked"]:
                return None
            rows = conn.execute(_OLDEST_UNPUBLISHED, (limit,)).fetchall()
            if rows:
                publish([event_from_row(row) for row in rows])
                conn.execute("UPDATE outbox SET published_at = now() WHERE seq = ANY(%s)",
                             ([row["seq"] for row in rows],))
            return len(rows)
        return self.db.run(work)
