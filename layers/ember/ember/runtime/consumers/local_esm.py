"""A local event source mapping: what the Lambda MSK trigger does, on a laptop.

```python
with LocalEventSourceMapping(consumer, client_config("127.0.0.1:9092")):
    ...   # consumer.handler receives MSK-shaped batches of consumer.topics
```
- one consumer group per consumer (group id = consumer name), from the earliest offset when
  the group has none committed;
- each poll becomes the MSK event Lambda would send, and the same handler runs;
- offsets are committed only after the handler returned, per partition up to the first
  failed offset of its `batchItemFailures`, and the partition is read again from there; a
  handler that raises or answers malformed failures retries the whole batch;
- after a failed delivery the next one waits, with exponential backoff.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from kafka import KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from ..logging import SERVICE
from . import msk
from .registry import Consumer

logger = Logger(service=SERVICE, child=True)


@dataclass(frozen=True)
class Backoff:
    first_s: float = 0.5
    max_s: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` failed deliveries in a row (0 after a success)."""
        if failures <= 0:
            return 0.0
        return min(self.max_s, self.first_s * 2 ** (failures - 1))


class PolledConsumer(Protocol):
    """The part of kafka-python's KafkaConsumer a delivery uses."""

    def poll(self, timeout_ms: int = ..., max_records: int | None = ...) -> dict[Any, list[Any]]: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    def commit(self, offsets: Any = ...) -> Any: ...


class LocalEventSourceMapping:
    """Delivers a consumer's topics to its handler in MSK-shaped batches, on its own thread."""

    def __init__(self, consumer: Consumer, kafka_config: Mapping[str, Any], *,
                 batch_size: int = 100, poll_timeout_ms: int = 500, backoff: Backoff = Backoff(),
                 consumer_options: Mapping[str, Any] | None = None) -> None:
        self.consumer = consumer
        self.batch_size = batch_size
        self.poll_timeout_ms = poll_timeout_ms
        self.backoff = backoff
        self._kafka_config = dict(kafka_config)
        self._options = dict(consumer_options or {})
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0  # failed deliveries in a row

    def __enter__(self) -> LocalEventSourceMapping:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> LocalEventSourceMapping:
        """This mapping, now polling on a daemon thread."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self.run, name=f"esm-{self.consumer.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 15.0) -> None:
        """Returns once the current delivery finished and the group was left."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def run(self) -> None:
        """Polls and delivers until `stop()`; the consumer leaves its group on the way out."""
        self._ensure_topics()
        group = KafkaConsumer(*self.consumer.topics, **{
            **self._kafka_config, "group_id": self.consumer.name, "enable_auto_commit": False,
            "auto_offset_reset": "earliest", **self._options})
        logger.info("esm_started", extra={"consumer": self.consumer.name,
                                          "topics": list(self.consumer.topics)})
        try:
            while not self._stopping.is_set():
                try:
                    self.deliver_once(group)
                except KafkaError as error:  # broker gone or rebalancing: poll again later
                    logger.warning("esm_poll_failed", extra={"consumer": self.consumer.name,
                                                             "error": repr(error)})
                    self._pause(failed=True)
        finally:
            group.close(autocommit=False)
            logger.info("esm_stopped", extra={"consumer": self.consumer.name})

    def _ensure_topics(self) -> None:
        # A group subscribed to a topic that does not exist yet would only notice it at its
        # next metadata refresh (minutes); create it now, as `ember up` does.
        from ember.adapters.kafka.topics import ensure_topics

        try:
            ensure_topics(self._kafka_config, self.consumer.topics)
        except KafkaError as error:
            logger.warning("esm_topics_not_ensured", extra={"consumer": self.consumer.name,
                                                            "error": repr(error)})

    def deliver_once(self, group: PolledConsumer) -> int:
        """How many records one poll delivered (0: nothing was waiting)."""
        polled = group.poll(timeout_ms=self.poll_timeout_ms, max_records=self.batch_size)
        batch = {tp: records for tp, records in polled.items() if records}
        if not batch:
            return 0
        retried = self._commit(group, batch, self._invoke(batch))
        self._pause(failed=retried)
        return sum(len(records) for records in batch.values())

    def _invoke(self, batch: dict[TopicPartition, list[Any]]) -> dict[str, int]:
        """The first failed offset per "<topic>-<partition>" (none: all done)."""
        records = [to_record(record) for polled in batch.values() for record in polled]
        event = msk.batch_event(records, bootstrap_servers=",".join(
            self._kafka_config.get("bootstrap_servers", ())))
        try:
            first_failed = msk.first_failures(self.consumer.handler(event, None))
        except Exception:
            logger.exception("esm_batch_failed", extra={"consumer": self.consumer.name,
                                                        "records": len(records)})
            return {f"{tp.topic}-{tp.partition}": polled[0].offset for tp, polled in batch.items()}
        if first_failed:
            logger.warning("esm_batch_retry", extra={"consumer": self.consumer.name,
                                                     "records": len(records),
                                                     "first_failed": first_failed})
        return first_failed

    def _commit(self, group: PolledConsumer, batch: dict[TopicPartition, list[Any]],
                first_failed: dict[str, int]) -> bool:
        """True when some partition goes back to a failed record."""
        retried = False
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, polled in batch.items():
            done = polled[-1].offset + 1
            failed = first_failed.get(f"{tp.topic}-{tp.partition}")
            # An identifier outside this batch cannot move the partition backwards past it.
            next_offset = done if failed is None else max(polled[0].offset, min(failed, done))
            offsets[tp] = OffsetAndMetadata(next_offset, "", -1)
            if next_offset < done:
                group.seek(tp, next_offset)
                retried = True
        try:
            group.commit(offsets)
        except KafkaError as error:
            # Partitions moved to another member: it re-reads from the last commit, and the
            # inbox turns the redelivery into a no-op.
            logger.warning("esm_commit_failed", extra={"consumer": self.consumer.name,
                                                       "error": repr(error)})
        return retried

    def _pause(self, failed: bool) -> None:
        self._failures = self._failures + 1 if failed else 0
        delay = self.backoff.delay(self._failures)
        if delay:
            self._stopping.wait(delay)


def to_record(record: Any) -> msk.KafkaRecord:
    """A kafka-python ConsumerRecord (no deserializers: bytes) as a batch record."""
    return msk.KafkaRecord(
        topic=record.topic, partition=record.partition, offset=record.offset,
        timestamp=record.timestamp, key=record.key, value=record.value,
        headers=tuple((name, value or b"") for name, value in record.headers or ()),
    )
