"""Outbox events on the wire: the envelope as the value, the aggregate id as the key, and the
event id and type as headers (readable without parsing the value)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from kafka.errors import KafkaError

from ember.domain.events import Event, envelope
from ember.services.ports import PublishFailed

from .producer import KafkaPublisher, Message


def message_for(event: Event) -> Message:
    """The Kafka message announcing `event`."""
    return Message(event.topic, event.key, envelope(event),
                   headers=(("ember-id", str(event.id).encode()),
                            ("ember-type", event.type.encode())))


def bounded(timeout_s: float) -> dict[str, Any]:
    """Producer settings so that no call blocks much longer than `timeout_s`, broker or not."""
    ms = int(timeout_s * 1000)
    # Delivery expires before publish() stops waiting, so a failed batch is already failed
    # (not queued for later) when the producer is thrown away.
    return {"bootstrap_timeout_ms": ms, "max_block_ms": ms, "request_timeout_ms": ms * 4 // 10,
            "delivery_timeout_ms": ms * 8 // 10}


class KafkaEventPublisher:
    """Publishes events to Kafka; connects on first use, so building it never waits for a broker."""

    def __init__(self, config: dict[str, Any], timeout_s: float = 10.0) -> None:
        self.config = {**config, **bounded(timeout_s)}
        self.timeout_s = timeout_s
        self._producer: KafkaPublisher | None = None

    def publish(self, batch: Sequence[Event]) -> None:
        """Returns once the broker acknowledged every event; raises PublishFailed otherwise."""
        try:
            if self._producer is None:
                self._producer = KafkaPublisher(self.config, self.timeout_s)
            self._producer.publish([message_for(event) for event in batch])
        except KafkaError as error:
            # A new producer next time: an idempotent producer that outlived its broker (a
            # restarted broker does not know its producer id) fails every send after.
            self._discard()
            raise PublishFailed(str(error) or type(error).__name__) from error  # str names the class

    def close(self) -> None:
        self._discard()

    def _discard(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError):  # a close that times out has nothing to lose
                producer.close()
