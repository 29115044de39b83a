"""Events announced through the outbox: id, type, version, occurred_at, payload, key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ROUNDS_TOPIC = "ember.rounds"
COMMISSION_TOPIC = "ember.commission"
BUYBACKS_TOPIC = "ember.buybacks"
BURNS_TOPIC = "ember.burns"
TOPICS = (ROUNDS_TOPIC, COMMISSION_TOPIC, BUYBACKS_TOPIC, BURNS_TOPIC)


def dead_letter_topic(consumer: str) -> str:
    """Each consumer has its own dead-letter topic."""
    return f"ember.dlq.{consumer}"


@dataclass(frozen=True)
class Event:
    topic: str
    key: str  # the aggregate id: ordering holds per key
    type: str
    version: int
    occurred_at: datetime
    payload: dict[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def envelope(event: Event) -> dict[str, Any]:
    """The message value on the wire: id, type, version, occurred_at, payload."""
    return {"id": str(event.id), "type": event.type, "version": event.version,
            "occurred_at": event.occurred_at.isoformat(), "payload": event.payload}


def commission_accrued(round_id: uuid.UUID, market_id: str, amount: int, currency: str,
                       now: datetime) -> Event:
    """Commission (with rounding dust) moved from a settled round to the commission pool."""
    return Event(
        COMMISSION_TOPIC, str(round_id), "commission.accrued", 1, now,
        {"round_id": str(round_id), "market_id": market_id, "amount": amount, "currency": currency},
        id=uuid.uuid5(round_id, "commission.accrued"),
    )


def round_resolved(round_id: uuid.UUID, market_id: str, status: str, outcome: int | None,
                   totals: dict[str, int], now: datetime) -> Event:
    """A round reached its final status (settled or refunded); seed and salt are public."""
    return Event(
        ROUNDS_TOPIC, str(round_id), f"round.{status}", 1, now,
        {"round_id": str(round_id), "market_id": market_id, "outcome": outcome, **totals},
        id=uuid.uuid5(round_id, f"round.{status}"),
    )
