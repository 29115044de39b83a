"""One batch of Kafka records for one consumer: validate, deduplicate, apply, retry, give up.

Each record is handled on its own:
- not JSON, or not a valid event (schema): dead-lettered at once; no retry can fix it;
- already in the inbox (processed or dead-lettered): skipped;
- else the inbox row and the consumer's effect commit in one transaction (exactly once);
- when the effect raises, the failure is counted: below `max_attempts` the record is
  reported for redelivery, at `max_attempts` it is dead-lettered and marked in the inbox,
  so it never blocks its partition again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg
from aws_lambda_powertools import Logger

from ember.adapters import schemas
from ember.adapters.postgres import inbox
from ember.adapters.postgres.database import Database
from ember.domain.envelope import EventEnvelope, parse_envelope

from .. import metrics
from ..logging import SERVICE
from . import msk
from .dead_letters import DeadLetters, send_dead_letter

Effect = Callable[[psycopg.Connection, EventEnvelope], None]
After = Callable[[], object]  # runs after the batch's records are handled

logger = Logger(service=SERVICE, child=True)

# Invalid records have no trustworthy event id; their inbox row is keyed by their position.
_INVALID_RECORDS = uuid.uuid5(uuid.NAMESPACE_URL, "https://ember.example/events/invalid")
INVALID_TYPE = "invalid"


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class Consuming:
    """What handling a record needs: who consumes, its effect, and where state goes."""

    consumer: str
    effect: Effect
    db: Database
    dead_letters: DeadLetters
    max_attempts: int = 3


def process_batch(event: Mapping[str, Any], *, consumer: str, effect: Effect, db: Database,
                  dead_letters: DeadLetters, max_attempts: int = 3,
                  after: After | None = None) -> dict[str, Any]:
    """The partial batch response for an MSK event: the records to deliver again, if any.

    `after` runs once every record was handled (even when all were duplicates), outside any
    transaction: work that cannot sit in one, such as sending chain transactions. When it
    raises, every record of the batch is reported failed, so the batch comes again; its
    records are then duplicates and `after` runs again, resuming the work.
    """
    consuming = Consuming(consumer, effect, db, dead_letters, max_attempts)
    failed: list[msk.KafkaRecord] = []
    outcomes: Counter[Outcome] = Counter()
    batch = msk.records(event)
    for record in batch:
        outcome = handle_record(record, consuming)
        outcomes[outcome] += 1
        if outcome is Outcome.RETRY:
            failed.append(record)
    if after is not None and not _ran_after(after, consumer):
        failed = list(batch)
    logger.info("kafka_batch_done", extra={
        "consumer": consumer, "records": len(batch),
        "outcomes": {outcome.value: count for outcome, count in outcomes.items()}})
    _measure(consumer, batch, outcomes)
    return msk.batch_response(failed)


def _measure(consumer: str, batch: list[msk.KafkaRecord], outcomes: Counter[Outcome]) -> None:
    for outcome, count in outcomes.items():
        metrics.count(metrics.KAFKA_RECORDS, count, consumer=consumer, outcome=outcome.value)
    if outcomes[Outcome.RETRY]:
        metrics.count(metrics.ERRORS, outcomes[Outcome.RETRY], source="kafka_record")
    if outcomes[Outcome.DEAD_LETTERED]:
        metrics.count(metrics.DEAD_LETTERS, outcomes[Outcome.DEAD_LETTERED], consumer=consumer)
    if batch:
        # How far behind the consumer runs: the age of the oldest record it was just given.
        oldest_ms = min(record.timestamp for record in batch)
        metrics.gauge(metrics.CONSUMER_LAG, max(0.0, time.time() - oldest_ms / 1000),
                      consumer=consumer)


def _ran_after(after: After, consumer: str) -> bool:
    """True when the batch's `after` step succeeded; its failure is logged."""
    try:
        after()
    except Exception:
        logger.exception("kafka_batch_after_failed", extra={"consumer": consumer})
        metrics.count(metrics.ERRORS, source="kafka_after")
        return False
    return True


def handle_record(record: msk.KafkaRecord, consuming: Consuming) -> Outcome:
    """What became of one record."""
    try:
        envelope = decode(record)
    except schemas.InvalidEvent as error:
        return _dead_letter_invalid(record, consuming, f"{error.code}: {error.detail}")
    try:
        applied = consuming.db.run(lambda conn: _apply(conn, record, envelope, consuming))
    except Exception as error:  # the effect's failure, whatever it is, counts as an attempt
        return _failed(record, envelope, consuming, f"{type(error).__name__}: {error}")
    fields = _fields(consuming.consumer, record, envelope.id, envelope.type)
    if applied:
        logger.info("event_processed", extra=fields)
        return Outcome.PROCESSED
    logger.info("event_duplicate", extra=fields)
    return Outcome.DUPLICATE


def decode(record: msk.KafkaRecord) -> EventEnvelope:
    """The record's event; InvalidEvent when its value is not a valid Ember event."""
    if record.value is None:
        raise schemas.InvalidEvent("value: missing (a tombstone)")
    try:
        document = json.loads(record.value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise schemas.InvalidEvent(f"value: not JSON ({error})") from None
    schemas.validate(document)
    key = record.key.decode("utf-8", errors="replace") if record.key is not None else None
    try:
        return parse_envelope(document, key=key)
    except ValueError as error:  # valid RFC 3339 that datetime cannot hold must not stall the batch
        raise schemas.InvalidEvent(f"envelope: {error}") from None


def _apply(conn: psycopg.Connection, record: msk.KafkaRecord, envelope: EventEnvelope,
           consuming: Consuming) -> bool:
    inbox.forget_failures(conn, consuming.consumer, record.topic, record.partition, record.offset)
    if not inbox.claim(conn, consuming.consumer, envelope.id, envelope.type):
        return False
    consuming.effect(conn, envelope)
    return True


def _failed(record: msk.KafkaRecord, envelope: EventEnvelope, consuming: Consuming,
            error: str) -> Outcome:
    attempts = consuming.db.run(lambda conn: inbox.count_failure(
        conn, consuming.consumer, record.topic, record.partition, record.offset, error))
    fields = {**_fields(consuming.consumer, record, envelope.id, envelope.type),
              "attempts": attempts, "error": error}
    if attempts < consuming.max_attempts:
        logger.warning("event_failed", extra=fields)
        return Outcome.RETRY
    return _dead_letter(record, consuming, envelope.id, envelope.type, error, attempts)


def _dead_letter_invalid(record: msk.KafkaRecord, consuming: Consuming, error: str) -> Outcome:
    event_id = invalid_record_id(record)
    if consuming.db.run(lambda conn: inbox.handled(conn, consuming.consumer, event_id)):
        return Outcome.DUPLICATE  # dead-lettered by an earlier delivery of this batch
    return _dead_letter(record, consuming, event_id, INVALID_TYPE, error, attempts=1)


def _dead_letter(record: msk.KafkaRecord, consuming: Consuming, event_id: uuid.UUID,
                 event_type: str, error: str, attempts: int) -> Outcome:
    fields = {**_fields(consuming.consumer, record, event_id, event_type),
              "attempts": attempts, "error": error}
    try:
        # Published before it is marked: a crash in between dead-letters it twice, never zero times.
        topic = send_dead_letter(consuming.dead_letters, consuming.consumer, record, error, attempts)
    except Exception:
        logger.exception("dead_letter_failed", extra=fields)
        return Outcome.RETRY

    def mark(conn: psycopg.Connection) -> None:
        inbox.dead_lettered(conn, consuming.consumer, event_id, event_type)
        inbox.forget_failures(conn, consuming.consumer, record.topic, record.partition,
                              record.offset)

    consuming.db.run(mark)
    logger.error("event_dead_lettered", extra={**fields, "dead_letter_topic": topic})
    return Outcome.DEAD_LETTERED


def invalid_record_id(record: msk.KafkaRecord) -> uuid.UUID:
    """The inbox id of an invalid record: its position, with the timestamp in case a
    (local, in-memory) broker restarted and reused the offset."""
    return uuid.uuid5(_INVALID_RECORDS, f"{record.position}/{record.timestamp}")


def _fields(consumer: str, record: msk.KafkaRecord, event_id: uuid.UUID,
            event_type: str) -> dict[str, Any]:
    return {"consumer": consumer, "topic": record.topic, "partition": record.partition,
            "offset": record.offset, "event_id": str(event_id), "event_type": event_type}
