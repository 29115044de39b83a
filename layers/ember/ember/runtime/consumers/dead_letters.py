"""Dead letters: where a record goes when it cannot be handled, and the headers saying why.

The dead letter keeps the original key and value byte for byte (replay = produce them back
to `ember-source-topic`), the original headers, and adds:

| header | value |
| --- | --- |
| `ember-error` | the last error, `<ExceptionType>: <message>` |
| `ember-attempts` | how many deliveries failed |
| `ember-consumer` | the consumer that gave up |
| `ember-source-topic`, `ember-source-partition`, `ember-source-offset` | where it came from |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ember.domain.events import dead_letter_topic

from .msk import KafkaRecord

ERROR = "ember-error"
ATTEMPTS = "ember-attempts"
CONSUMER = "ember-consumer"
SOURCE_TOPIC = "ember-source-topic"
SOURCE_PARTITION = "ember-source-partition"
SOURCE_OFFSET = "ember-source-offset"
OURS = (ERROR, ATTEMPTS, CONSUMER, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET)
_ERROR_LIMIT = 1000


class DeadLetters(Protocol):
    """Somewhere to send dead letters (Kafka in production, a list in unit tests)."""

    def send(self, topic: str, key: bytes | None, value: bytes | None,
             headers: Sequence[tuple[str, bytes]]) -> None: ...


def send_dead_letter(dead_letters: DeadLetters, consumer: str, record: KafkaRecord, error: str,
                     attempts: int) -> str:
    """The dead-letter topic `record` was published to, with the headers above."""
    topic = dead_letter_topic(consumer)
    dead_letters.send(topic, record.key, record.value, dead_letter_headers(consumer, record, error,
                                                                           attempts))
    return topic


def dead_letter_headers(consumer: str, record: KafkaRecord, error: str,
                        attempts: int) -> list[tuple[str, bytes]]:
    """The record's own headers (minus any earlier dead-letter ones), then why it failed."""
    kept = [(name, value) for name, value in record.headers if name not in OURS]
    return kept + [
        (ERROR, error[:_ERROR_LIMIT].encode()),
        (ATTEMPTS, str(attempts).encode()),
        (CONSUMER, consumer.encode()),
        (SOURCE_TOPIC, record.topic.encode()),
        (SOURCE_PARTITION, str(record.partition).encode()),
        (SOURCE_OFFSET, str(record.offset).encode()),
    ]
