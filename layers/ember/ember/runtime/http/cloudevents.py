"""Knative source CloudEvents as the Lambda events our handlers take.

KafkaSource POSTs each Kafka record as one CloudEvent (binary mode); it becomes a one-record
MSK batch:

| CloudEvent (HTTP) | MSK record |
| --- | --- |
| `ce-type: dev.knative.kafka.event` | |
| `ce-source: /apis/v1/namespaces/<ns>/kafkasources/<name>#<topic>` | `topic` |
| `ce-subject: partition:<p>#<offset>` (`ce-id: partition:<p>/offset:<o>`) | `partition`, `offset` |
| `ce-time` | `timestamp` (ms) |
| `ce-key` | `key` (base64) |
| `ce-kafkaheader<name>` | `headers` |
| the body | `value` (base64) |

PingSource POSTs `ce-type: dev.knative.sources.ping` on its schedule; it becomes the
EventBridge scheduled event, with the CloudEvent's id as the event id (the correlation id).
A structured-mode event (`Content-Type: application/cloudevents+json`) is read as well.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..consumers import msk
from .problems import Rejected

KAFKA_EVENT = "dev.knative.kafka.event"
PING_EVENT = "dev.knative.sources.ping"
STRUCTURED = "application/cloudevents+json"
KAFKA_HEADER_PREFIX = "kafkaheader"

_SUBJECT = re.compile(r"partition:(\d+)#(\d+)")
_ID = re.compile(r"partition:(\d+)/offset:(\d+)")


@dataclass(frozen=True)
class CloudEvent:
    """A CloudEvent's context attributes (lower-case names) and its data as bytes."""

    attributes: dict[str, str]
    data: bytes = b""
    extensions: dict[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.attributes.get("type", "")


def read(headers: list[tuple[str, str]], body: bytes) -> CloudEvent | None:
    """The CloudEvent a request carries, or None when it carries none."""
    content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
    if content_type.split(";")[0].strip().lower() == STRUCTURED:
        return _structured(body)
    attributes = {name.lower()[3:]: value for name, value in headers
                  if name.lower().startswith("ce-")}
    if "specversion" not in attributes or "type" not in attributes:
        return None
    if content_type:
        attributes.setdefault("datacontenttype", content_type)
    return CloudEvent(attributes, body)


def _structured(body: bytes) -> CloudEvent:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Rejected(400, "bad_request", "structured CloudEvent is not JSON") from None
    if not isinstance(document, dict) or "type" not in document:
        raise Rejected(400, "bad_request", "structured CloudEvent has no type")
    attributes = {k: str(v) for k, v in document.items() if k not in ("data", "data_base64")}
    if "data_base64" in document:
        data = _b64decode(str(document["data_base64"]), "data_base64")
    elif isinstance(document.get("data"), str):
        data = document["data"].encode()
    elif "data" in document:
        data = json.dumps(document["data"], separators=(",", ":")).encode()
    else:
        data = b""
    return CloudEvent(attributes, data)


def msk_event(event: CloudEvent) -> dict[str, Any]:
    """The one-record MSK batch Lambda would deliver for a KafkaSource CloudEvent."""
    topic = _topic(event.attributes.get("source", ""))
    partition, offset = _position(event.attributes)
    key = event.attributes.get("key")
    record = msk.KafkaRecord(
        topic=topic, partition=partition, offset=offset,
        timestamp=_millis(event.attributes.get("time")),
        key=key.encode() if key is not None else None,
        value=event.data,
        headers=tuple((name[len(KAFKA_HEADER_PREFIX):], value.encode())
                      for name, value in event.attributes.items()
                      if name.startswith(KAFKA_HEADER_PREFIX) and len(name) > len(KAFKA_HEADER_PREFIX)),
    )
    return msk.batch_event([record], event_source_arn=event.attributes.get("source"))


def scheduled_event(event: CloudEvent) -> dict[str, Any]:
    """The EventBridge scheduled event for a PingSource CloudEvent."""
    detail: Any = {}
    if event.data:
        try:
            detail = json.loads(event.data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            detail = {"data": event.data.decode("utf-8", errors="replace")}
    attributes = event.attributes
    time_ = attributes.get("time") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"version": "0", "id": attributes.get("id", ""), "detail-type": "Scheduled Event",
            "source": "knative.pingsource", "account": "", "time": time_, "region": "",
            "resources": [attributes.get("source", "")], "detail": detail}


def _topic(source: str) -> str:
    # KafkaSource's source is ".../kafkasources/<name>#<topic>".
    _, hash_, topic = source.rpartition("#")
    if not hash_ or not topic:
        raise Rejected(400, "bad_request", "ce-source names no topic (…#<topic>)")
    return topic


def _position(attributes: Mapping[str, str]) -> tuple[int, int]:
    found = _SUBJECT.fullmatch(attributes.get("subject", "")) \
        or _ID.fullmatch(attributes.get("id", ""))
    if found is None:
        raise Rejected(400, "bad_request", "ce-subject is not partition:<p>#<offset>")
    return int(found.group(1)), int(found.group(2))


def _millis(time_: str | None) -> int:
    if not time_:
        return int(datetime.now(UTC).timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(time_.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(400, "bad_request", "ce-time is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected(400, "bad_request", f"{what} is not base64") from None
