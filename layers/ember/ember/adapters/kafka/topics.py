"""Ember's topics, created up front: a broker's auto-created topics get its default partition
count (Tansu: 4), and a consumer reading a topic before anyone wrote to it finds nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient
from kafka import errors as kafka_errors

from ember.domain.events import TOPICS, dead_letter_topic

# Consumers with a dead-letter topic each, named as their functions (functions/<name>).
CONSUMERS = ("buy_tokens", "burn")


def ember_topics(consumers: Iterable[str] = CONSUMERS) -> list[str]:
    """The event topics and each consumer's dead-letter topic."""
    return [*TOPICS, *(dead_letter_topic(consumer) for consumer in consumers)]


def ensure_topics(config: dict[str, Any], names: Iterable[str], partitions: int = 3) -> list[str]:
    """The topics created now; those that already exist are left as they are."""
    wanted = {name: {"num_partitions": partitions, "replication_factor": -1}  # broker's default
              for name in names}
    admin = KafkaAdminClient(**config)
    try:
        response = admin.create_topics(wanted, raise_errors=False)
    finally:
        admin.close()
    created = []
    for topic in response["topics"]:
        error = kafka_errors.for_code(topic["error_code"])
        if error is kafka_errors.NoError:
            created.append(topic["name"])
        elif error is not kafka_errors.TopicAlreadyExistsError:
            raise error(f"topic {topic['name']}: {topic['error_message']}")
    return created
