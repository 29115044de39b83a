"""The inbox: which events a consumer handled, and how often a record failed.

An event's effect and its inbox row commit in one transaction, so an event redelivered
any number of times has its effect once. Failed attempts are counted per record position
(topic, partition, offset) in their own transaction, after the effect rolled back.
"""

from __future__ import annotations

import uuid

import psycopg

# Error texts come from arbitrary exceptions; keep the row small.
_ERROR_LIMIT = 2000


def claim(conn: psycopg.Connection, consumer: str, event_id: uuid.UUID, event_type: str) -> bool:
    """True when `consumer` had not handled the event before; it is now recorded as processed.

    A concurrent claim of the same event waits for this transaction, then finds the row.
    """
    row = conn.execute(
        "INSERT INTO inbox (consumer, event_id, event_type, outcome)"
        " VALUES (%s, %s, %s, 'processed') ON CONFLICT DO NOTHING RETURNING event_id",
        (consumer, event_id, event_type)).fetchone()
    return row is not None


def dead_lettered(conn: psycopg.Connection, consumer: str, event_id: uuid.UUID,
                  event_type: str) -> None:
    """Records the event as dead-lettered, so no later delivery runs it again."""
    conn.execute(
        "INSERT INTO inbox (consumer, event_id, event_type, outcome)"
        " VALUES (%s, %s, %s, 'dead_lettered') ON CONFLICT DO NOTHING",
        (consumer, event_id, event_type))


def count_failure(conn: psycopg.Connection, consumer: str, topic: str, partition: int, offset: int,
                  error: str) -> int:
    """How many times the record at this position has failed, this failure included."""
    row = conn.execute(
        'INSERT INTO consumer_failures (consumer, topic, partition, "offset", attempts, last_error)'
        " VALUES (%s, %s, %s, %s, 1, %s)"
        ' ON CONFLICT (consumer, topic, partition, "offset") DO UPDATE'
        " SET attempts = consumer_failures.attempts + 1, last_error = excluded.last_error,"
        " updated_at = now()"
        " RETURNING attempts",
        (consumer, topic, partition, offset, error[:_ERROR_LIMIT])).fetchone()
    return int(row["attempts"])


def forget_failures(conn: psycopg.Connection, consumer: str, topic: str, partition: int,
                    offset: int) -> None:
    """Drops the failure count of a record that is done with (handled or dead-lettered).

    Offsets restart at 0 when a (local, in-memory) broker restarts; a stale count must not
    shorten the retries of the new record at the same position.
    """
    conn.execute(
        'DELETE FROM consumer_failures WHERE consumer = %s AND topic = %s AND partition = %s'
        ' AND "offset" = %s', (consumer, topic, partition, offset))


def handled(conn: psycopg.Connection, consumer: str, event_id: uuid.UUID) -> bool:
    """True when `consumer` already processed or dead-lettered the event."""
    return conn.execute("SELECT 1 FROM inbox WHERE consumer = %s AND event_id = %s",
                        (consumer, event_id)).fetchone() is not None
