"""Publishing to Kafka: JSON values, keys by aggregate id, acknowledged by all replicas."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.serializer import Serializer


@dataclass(frozen=True)
class Message:
    topic: str
    key: str
    value: dict[str, Any]
    headers: tuple[tuple[str, bytes], ...] = ()


class _KeyBytes(Serializer):
    def serialize(self, topic: str, headers: Any, data: Any) -> bytes:
        return str(data).encode()


class _CompactJson(Serializer):
    def serialize(self, topic: str, headers: Any, data: Any) -> bytes:
        return json.dumps(data, separators=(",", ":")).encode()


class KafkaPublisher:
    """Sends messages and waits until the broker has them (or raises)."""

    def __init__(self, config: dict[str, Any], timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s
        self.producer = KafkaProducer(
            **config, acks="all", retries=5, linger_ms=5, max_in_flight_requests_per_connection=1,
            key_serializer=_KeyBytes(), value_serializer=_CompactJson(),
        )

    def publish(self, messages: list[Message]) -> None:
        """Returns once every message is acknowledged; raises the first failure."""
        futures = [self.producer.send(m.topic, key=m.key, value=m.value, headers=list(m.headers))
                   for m in messages]
        self.producer.flush(self.timeout_s)
        for future in futures:
            future.get(timeout=self.timeout_s)

    def close(self) -> None:
        self.producer.close(self.timeout_s)
