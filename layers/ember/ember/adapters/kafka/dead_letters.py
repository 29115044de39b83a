"""Publishing dead letters: a failed record's own bytes, sent on with headers that say why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer


class KafkaDeadLetters:
    """Sends raw records (bytes in, bytes out) and waits until the broker has each one."""

    def __init__(self, config: dict[str, Any], timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s
        # No serializers: a dead letter keeps the original key and value byte for byte,
        # even when the value is not JSON (that may be why it is here).
        self.producer = KafkaProducer(**config, acks="all", retries=5,
                                      max_in_flight_requests_per_connection=1)

    def send(self, topic: str, key: bytes | None, value: bytes | None,
             headers: Sequence[tuple[str, bytes]]) -> None:
        """Returns once the record is acknowledged; raises when it is not."""
        future = self.producer.send(topic, key=key, value=value, headers=list(headers))
        self.producer.flush(self.timeout_s)
        future.get(timeout=self.timeout_s)

    def close(self) -> None:
        self.producer.close(self.timeout_s)
