"""A consumed event: what a consumer's effect receives, parsed from the wire envelope."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EventEnvelope:
    """One event as delivered: the envelope members, plus the Kafka key (the aggregate id)."""

    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    payload: Mapping[str, Any]
    key: str | None = None


def parse_envelope(document: Mapping[str, Any], key: str | None = None) -> EventEnvelope:
    """The typed envelope of a wire document that already passed schema validation."""
    return EventEnvelope(
        id=uuid.UUID(document["id"]), type=document["type"], version=document["version"],
        occurred_at=datetime.fromisoformat(document["occurred_at"]),
        payload=document["payload"], key=key,
    )
