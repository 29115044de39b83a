"""The Lambda MSK (Kafka) event shape: reading batches, building them, partial batch responses.

A batch groups records by "<topic>-<partition>"; keys and values are base64, header values
are lists of byte values:
```json
{"eventSource": "aws:kafka", "records": {"ember.commission-0": [{"topic": "ember.commission",
  "partition": 0, "offset": 15, "timestamp": 1545084650987, "timestampType": "CREATE_TIME",
  "key": "cm91bmQ=", "value": "eyJpZCI6...", "headers": [{"source": [101, 109]}]}]}}
```
A partial batch response names each failed record by its topic-partition and offset, the
shape Powertools' `BatchProcessor(EventType.Kafka)` returns for the Kafka ESM:
`{"batchItemFailures": [{"itemIdentifier": {"partition": "ember.commission-0", "offset": 15}}]}`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.shared.functions import decode_header_bytes
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEvent

EVENT_SOURCES = ("aws:kafka", "SelfManagedKafka")


@dataclass(frozen=True)
class KafkaRecord:
    """One record of a batch, decoded: raw key and value bytes, headers in their order."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # milliseconds since the epoch
    key: bytes | None
    value: bytes | None  # None for a tombstone
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def topic_partition(self) -> str:
        return f"{self.topic}-{self.partition}"

    @property
    def item_identifier(self) -> dict[str, Any]:
        """How a partial batch response names this record."""
        return {"partition": self.topic_partition, "offset": self.offset}

    @property
    def position(self) -> str:
        """`topic/partition@offset`, for logs."""
        return f"{self.topic}/{self.partition}@{self.offset}"


def records(event: Mapping[str, Any]) -> list[KafkaRecord]:
    """The batch's records, partition by partition in offset order; ValueError when `event`
    is not a Kafka batch."""
    if not isinstance(event, Mapping) or event.get("eventSource") not in EVENT_SOURCES:
        raise ValueError("not a Kafka event source batch (eventSource aws:kafka or SelfManagedKafka)")
    parsed = KafkaEvent(dict(event))
    found = [KafkaRecord(
        topic=record.topic, partition=int(record.partition), offset=int(record.offset),
        timestamp=int(record.timestamp), key=record.decoded_key,
        value=base64.b64decode(record["value"]) if record.get("value") is not None else None,
        headers=tuple((name, decode_header_bytes(values))
                      for chunk in record.get("headers") or () for name, values in chunk.items()),
    ) for record in parsed.records]
    return sorted(found, key=lambda r: (r.topic, r.partition, r.offset))


def batch_event(batch: Iterable[KafkaRecord], *, bootstrap_servers: str = "",
                event_source_arn: str | None = None) -> dict[str, Any]:
    """The MSK trigger event Lambda would send for these records."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in batch:
        grouped.setdefault(record.topic_partition, []).append(_wire_record(record))
    event: dict[str, Any] = {"eventSource": "aws:kafka", "bootstrapServers": bootstrap_servers,
                             "records": grouped}
    if event_source_arn:
        event["eventSourceArn"] = event_source_arn
    return event


def batch_response(failed: Iterable[KafkaRecord]) -> dict[str, Any]:
    """The partial batch response naming `failed` (an empty list: the whole batch succeeded)."""
    return {"batchItemFailures": [{"itemIdentifier": record.item_identifier} for record in failed]}


def first_failures(response: Any) -> dict[str, int]:
    """The lowest failed offset per "<topic>-<partition>" of a partial batch response.

    Like the Lambda ESM, anything malformed (no list, an identifier without partition or
    offset) raises ValueError: the caller then treats the whole batch as failed.
    """
    if response is None:
        return {}
    failures = response.get("batchItemFailures") if isinstance(response, Mapping) else None
    if failures is None:
        return {}
    if not isinstance(failures, list):
        raise ValueError("batchItemFailures is not a list")
    lowest: dict[str, int] = {}
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, Mapping) or not isinstance(identifier.get("partition"), str) \
                or not isinstance(identifier.get("offset"), int):
            raise ValueError(f"malformed itemIdentifier: {failure!r}")
        partition, offset = identifier["partition"], identifier["offset"]
        lowest[partition] = min(offset, lowest.get(partition, offset))
    return lowest


def _wire_record(record: KafkaRecord) -> dict[str, Any]:
    return {
        "topic": record.topic, "partition": record.partition, "offset": record.offset,
        "timestamp": record.timestamp, "timestampType": "CREATE_TIME",
        "key": _b64(record.key), "value": _b64(record.value),
        "headers": [{name: list(value)} for name, value in record.headers],
    }


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")
